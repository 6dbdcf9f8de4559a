"""While evaluating, Rasa's output goes to a file and the report to the terminal."""

import contextlib
import logging
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def rasa_output_to(log_file: Path, level: int = logging.INFO) -> Iterator[None]:
    """Routes logging, warnings and Rasa's structlog output into `log_file`."""
    import structlog

    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root.handlers = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    saved_structlog = structlog.get_config()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.processors.add_log_level,
            structlog.processors.KeyValueRenderer(key_order=["event"]),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
    )
    try:
        yield
    finally:
        handler.close()
        root.handlers, root.level = saved_handlers, saved_level
        logging.captureWarnings(False)
        structlog.configure(**saved_structlog)
