"""The desk's official LINE account as a channel: its webhook (follows, chat, account links),
notices pushed to linked people, news of new events, and the follower figure."""
