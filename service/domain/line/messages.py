"""The words the desk's LINE account says, and the SDK message objects that carry them.

Quick-reply buttons do what a tap should: 「予約と連携」 starts the account link,
「キャンセルする」 only asks (the cancel happens on a second, explicit 「はい、キャンセルする」)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from linebot.v3.messaging import (
    Message,
    MessageAction,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    TextMessage,
    URIAction,
)

LINK_WORD = "予約と連携"
UNLINK_WORD = "連携解除"
NEWS_STOP_WORD = "お知らせ停止"
NEWS_START_WORD = "お知らせ再開"
# LINE's limit on one text message.
TEXT_MAX = 5000
LABEL_MAX = 20


@dataclass(frozen=True, slots=True)
class Button:
    """A quick-reply button: a word sent as if typed, a postback, or a link."""

    label: str
    text: str | None = None
    data: str | None = None
    uri: str | None = None


def text(body: str, buttons: Sequence[Button] = ()) -> Message:
    items = [QuickReplyItem(action=_action(b)) for b in buttons[:13]]
    return TextMessage(text=body[:TEXT_MAX], quick_reply=QuickReply(items=items) if items else None)


def _action(b: Button) -> MessageAction | PostbackAction | URIAction:
    label = b.label[:LABEL_MAX]
    if b.uri is not None:
        return URIAction(label=label, uri=b.uri)
    if b.data is not None:
        return PostbackAction(label=label, data=b.data, display_text=b.label)
    return MessageAction(label=label, text=b.text or b.label)


LINK_BUTTON = Button(LINK_WORD, text=LINK_WORD)


def welcome(desk_name: str) -> Message:
    return text(
        f"{desk_name}の公式LINEです。友だち追加ありがとうございます。\n"
        "ご予約と連携すると、予約の確認やお知らせをLINEでお届けします。"
        f"「{LINK_WORD}」を押してください。",
        [LINK_BUTTON],
    )


def link_invitation(url: str) -> Message:
    return text(
        "下のボタンから、予約番号と電話番号（または窓口でお伝えした連携コード）で"
        "ご本人の確認をお願いします。10分以内にお済ませください。",
        [Button("本人確認へ進む", uri=url)],
    )


def link_failed(desk_phone: str) -> Message:
    return text(
        "連携を始められませんでした。少し時間をおいて、もう一度お試しください。"
        f"お困りのときは {desk_phone} までお電話ください。",
        [LINK_BUTTON],
    )


def linked(name: str) -> Message:
    return text(
        f"{name} 様のご予約と連携しました。これから、ご予約のお知らせをLINEでお届けします。\n"
        f"連携をやめるときは「{UNLINK_WORD}」と送ってください。"
    )


def link_refused() -> Message:
    return text(
        "連携できませんでした。確認の期限が切れたか、すでに使われた手続きです。"
        f"もう一度「{LINK_WORD}」を押してください。",
        [LINK_BUTTON],
    )


def ask_unlink() -> Message:
    return text(
        "ご予約との連携をやめますか。やめると、お知らせはメールかお電話になります。",
        [Button("連携をやめる", data="unlink"), Button("やめない", data="keep")],
    )


def unlinked() -> Message:
    return text("連携をやめました。またいつでも連携できます。", [LINK_BUTTON])


def not_linked() -> Message:
    return text("まだご予約と連携していません。", [LINK_BUTTON])


def news_changed(consent: bool) -> Message:
    if consent:
        return text("新しいイベントのお知らせをお届けします。")
    return text(
        f"新しいイベントのお知らせを止めました。再開するときは「{NEWS_START_WORD}」と送ってください。"
    )


def ask_cancel(booking_id: int, what: str) -> Message:
    return text(
        f"次のご予約を取り消しますか。\n{what}\n取り消すと元に戻せません。",
        [
            Button("はい、キャンセルする", data=f"cancel_yes:{booking_id}"),
            Button("やめる", data="keep"),
        ],
    )


def cancelled(code: str) -> Message:
    return text(f"ご予約（予約番号 {code}）を取り消しました。")


def plain(body: str) -> Message:
    return text(body)


def help_text(desk_name: str, desk_phone: str, is_linked: bool) -> Message:
    buttons = [Button(UNLINK_WORD, text=UNLINK_WORD)] if is_linked else [LINK_BUTTON]
    return text(
        f"{desk_name}です。このアカウントでは個別のお返事ができません。"
        f"ご予約やご相談は {desk_phone} までお電話ください。",
        buttons,
    )
