-- The inbox's tables as schema version 1 created them on postgresql (metadata.create_all
-- before the version table; tests/inbox/test_migrations.py adopts a database made from it).

CREATE TABLE handover_agents (
	id VARCHAR(64) NOT NULL,
	name VARCHAR(255) NOT NULL,
	token_hash VARCHAR(64) NOT NULL,
	teams JSON NOT NULL,
	languages JSON NOT NULL,
	tier VARCHAR(64) NOT NULL,
	capacity INTEGER NOT NULL,
	online BOOLEAN NOT NULL,
	last_seen TIMESTAMP WITH TIME ZONE,
	PRIMARY KEY (id),
	UNIQUE (token_hash)
);

CREATE TABLE handover_channel_cursors (
	channel_url VARCHAR(1024) NOT NULL,
	last_event_id INTEGER NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (channel_url)
);

CREATE TABLE handover_tickets (
	id SERIAL NOT NULL,
	conversation_id VARCHAR(255) NOT NULL,
	attempt INTEGER NOT NULL,
	status VARCHAR(64) NOT NULL,
	team VARCHAR(64) NOT NULL,
	language VARCHAR(64),
	tier VARCHAR(64) NOT NULL,
	channel VARCHAR(64),
	reason VARCHAR(64),
	customer_name VARCHAR(255),
	payload JSON NOT NULL,
	agent_id VARCHAR(64),
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	assigned_at TIMESTAMP WITH TIME ZONE,
	accepted_at TIMESTAMP WITH TIME ZONE,
	resolved_at TIMESTAMP WITH TIME ZONE,
	estimated_wait_seconds INTEGER,
	no_agent_reason VARCHAR(64),
	callback JSON,
	outcome VARCHAR(64),
	outcome_note TEXT,
	outcome_intent VARCHAR(255),
	csat INTEGER,
	PRIMARY KEY (id),
	CONSTRAINT uq_handover_attempt UNIQUE (conversation_id, attempt)
);

CREATE INDEX ix_handover_tickets_agent_id ON handover_tickets (agent_id);

CREATE INDEX ix_handover_tickets_conversation_id ON handover_tickets (conversation_id);

CREATE INDEX ix_handover_tickets_queue ON handover_tickets (status, team);

CREATE TABLE handover_events (
	id SERIAL NOT NULL,
	ticket_id INTEGER NOT NULL,
	type VARCHAR(64) NOT NULL,
	data JSON NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(ticket_id) REFERENCES handover_tickets (id) ON DELETE CASCADE
);

CREATE INDEX ix_handover_events_ticket_id ON handover_events (ticket_id);

CREATE TABLE handover_messages (
	id SERIAL NOT NULL,
	ticket_id INTEGER NOT NULL,
	sender VARCHAR(64) NOT NULL,
	text TEXT NOT NULL,
	agent_name VARCHAR(255),
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(ticket_id) REFERENCES handover_tickets (id) ON DELETE CASCADE
);

CREATE INDEX ix_handover_messages_ticket_id ON handover_messages (ticket_id);
