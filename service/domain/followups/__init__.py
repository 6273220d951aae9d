"""The follow-up survey (アフターフォロー・就業状況調査): campaigns that ask people the desk
knows whether they found work, by mail, by post or by phone, and the placements it finds."""
