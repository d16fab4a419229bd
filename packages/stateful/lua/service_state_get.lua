-- getServiceState. KEYS[1] pods hash of one service. Returns podId, state, podId, state, … of the
-- pods whose registration has not expired. Read only.
return live_heads(KEYS[1], now_ms())
