"""The durable outbound queue: spool, retry schedule, bounces and the runner that drains it."""
