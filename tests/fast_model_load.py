"""Rasa models load in seconds instead of most of a minute, for the test run only.

`RasaModel.load` (DIET, TED) builds a model's variables by fitting it on one
example before it reads the trained weights. It compiles that fit as a
TensorFlow graph, and tracing the training step takes 35-40 s of CPU for the
example bot on this machine (DIET about 30, TED about 10), on every `rasa run`
and every `Agent.load`. The suite starts Rasa some thirty times on two cores,
and under that load a start took over five minutes (CI timed one out).

`load` here is Rasa 3.6's own, with one change: that single building step runs
eagerly (no graph to trace). The weights it produced are then overwritten by
the trained ones, as before, and prediction is compiled as before, so the model
answers exactly as `rasa run` loads it (tests/test_fast_model_load.py loads
the example bot both ways and compares every intent ranking and action
prediction). Nothing in rasa_handover uses this module.

- In the test process: `tests/conftest.py` calls `install()`.
- In a `rasa` subprocess: run `python -m tests.fast_model_load <rasa args>`
  (`tests/e2e/servers.py` does), with the repository on `PYTHONPATH`.
"""

import sys
from typing import Any, Optional

ORIGINAL_LOAD: Optional[Any] = None


def _load_building_eagerly(
    cls: Any,
    model_file_name: str,
    model_data_example: Any,
    predict_data_example: Optional[Any] = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """`rasa.utils.tensorflow.models.RasaModel.load` (Rasa 3.6.x), its one
    building `fit` run eagerly; `run_eagerly` set back to the model's config."""
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator

    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    model.compile(
        optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)),
        run_eagerly=True,
    )
    model.fit(RasaBatchDataGenerator(model_data_example, batch_size=1), verbose=False)
    model.load_weights(model_file_name)
    # As Rasa's own `load` leaves it: prediction compiled unless configured not to.
    model.run_eagerly = bool(config.get(RUN_EAGERLY))
    if not finetune_mode and predict_data_example:
        model.run_inference(predict_data_example)
    return model


def install() -> None:
    """Makes `RasaModel.load` build eagerly in this process (idempotent)."""
    global ORIGINAL_LOAD
    from rasa.utils.tensorflow.models import RasaModel

    if ORIGINAL_LOAD is None:
        ORIGINAL_LOAD = RasaModel.__dict__["load"]
        RasaModel.load = classmethod(_load_building_eagerly)  # type: ignore


def uninstall() -> None:
    """Puts Rasa's own `load` back."""
    global ORIGINAL_LOAD
    from rasa.utils.tensorflow.models import RasaModel

    if ORIGINAL_LOAD is not None:
        RasaModel.load = ORIGINAL_LOAD  # type: ignore
        ORIGINAL_LOAD = None


def main() -> None:
    """`rasa <args>` with `install()` done first."""
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
