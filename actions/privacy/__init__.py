"""Privacy: redaction of personal details, the private tracker store, retention and deletion.

- `redact`: finds Dutch names, phone numbers, e-mail addresses, BSN, dates (of birth), postcodes
  and addresses in a text and replaces them with a placeholder such as "[telefoonnummer]".
- `tracker_store`: Rasa's SQL tracker store that stores only redacted patient texts and deletes a
  conversation when the patient asked for it.
- `retention`: deletes conversations older than N days (`make purge DAYS=30`).
- `requests`: recognises "verwijder mijn gegevens" and its confirmation.
"""

# The `answer_id` slot value the chat sets when the patient confirmed the deletion of their
# conversation; the tracker store then deletes every stored event of that conversation.
DELETED_ANSWER_ID = "privacy/deleted"
# The `answer_id` slot value while the assistant waits for the confirmation.
CONFIRM_DELETE_ANSWER_ID = "privacy/confirm_delete"
