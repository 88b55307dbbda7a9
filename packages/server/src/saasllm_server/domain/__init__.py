"""Business rules: tenancy, jobs, billing, limits. No HTTP here, and SQL only through storage."""
