"""Tables, Athena DDL, partition projection and the workspace that keeps them."""
