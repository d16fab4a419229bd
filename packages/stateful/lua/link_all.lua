-- getLinkService. KEYS[1] links hash of one uid. Returns service, podId, … of the links that are
-- live or inside their persist window. Read only.
return live_heads(KEYS[1], now_ms())
