-- The W3C trace context (`traceparent`, `tracestate`) of the request that wrote an event, stored
-- in the transaction of the change, so the relay publishes the event as part of the same trace
-- (also after a crash between commit and publish). NULL when tracing is off or the request was
-- not sampled.
ALTER TABLE ws_events
  ADD COLUMN trace_parent VARCHAR(55),
  ADD COLUMN trace_state  VARCHAR(512);
