"""Custom actions of the Dutch back-pain assistant (rasa-sdk action server)."""
