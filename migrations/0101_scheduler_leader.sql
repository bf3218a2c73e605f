-- 0101_scheduler_leader.sql: when the current scheduler leader took the advisory lock. While
-- no control plane runs (restart, failover, database outage) agents cannot report, so their
-- silence from before this time says nothing about them: the planner counts an agent as heard
-- at this time at the latest (sch_config.listening_since_ms) instead of calling the whole
-- fleet stale and failing every wave in progress.
CREATE TABLE scheduler_leader (
	one   boolean PRIMARY KEY DEFAULT true CHECK (one),
	since timestamptz NOT NULL DEFAULT now()
);
