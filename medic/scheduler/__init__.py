"""Detection: the scheduler that notices late, failed and hung services (deadlines,
not polling), and hands what it finds to the notification outbox."""
