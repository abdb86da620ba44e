"""The REST API: thin views with explicit input and output serializers."""
