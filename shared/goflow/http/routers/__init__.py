"""One Powertools router per resource; ``goflow.http.app`` includes them all."""
