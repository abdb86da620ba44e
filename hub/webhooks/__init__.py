"""Provider webhooks: one module per vendor, each verify → normalise → hand on."""
