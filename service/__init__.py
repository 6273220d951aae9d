"""NEXTワークしずおか event and seminar booking service."""
