"""GoFlow's tests: unit, integration (moto) and e2e (the local stack over HTTP)."""
