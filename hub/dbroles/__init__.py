"""Two database roles: the schema owner runs migrations, the hub runs as a role that may only
add to the audit log and read it (SPEC §6, ``MIGRATE_DATABASE_URL``). See docs/security/database-roles.md.
"""
