"""What reads hub data for people: the compliance workspace, contact timelines, evidence packs,
reports backed by rollups, Prometheus metrics, retention and the staff roles."""
