"""People the desk knows (登録者): the person record, consent, contact preference, duplicates
and merges, and the history of everything linked to a person."""
