"""What the assistant answers: the FAQ, the one decision (`decide`) and the reply it becomes.

Plain Python without Rasa types, shared by the chat actions and the front desk.
"""
