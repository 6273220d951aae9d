"""Demo data modelled on the programme report (R4), dated relative to today."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.devtools.demo_indicators import load_indicator_demo
from service.domain import clock
from service.domain.bookings.repository import BookingRepository
from service.domain.bookings.schemas import ValidBooking, ValidCompanion
from service.domain.bookings.service import book, cancel_booking
from service.domain.events.models import Event, EventSession, Organization, Venue
from service.domain.events.repository import EventRepository
from service.platform.local_time import TOKYO

ORGANIZATIONS = [
    ("NEXTワークしずおか", "organizer"),
    ("ハローワーク静岡", "cohost"),
    ("静岡市シルバー人材センター", "cohost"),
    ("静岡市社会福祉協議会", "cohost"),
    ("静岡商工会議所", "cohost"),
    ("社会福祉法人あおい福祉会", "employer"),
    ("介護老人保健施設しみずの里", "employer"),
    ("デイサービスするが", "employer"),
    ("駿府警備保障株式会社", "employer"),
    ("清水ビルメンテナンス株式会社", "employer"),
    ("株式会社しずおかクリーンサービス", "employer"),
]

VENUES = [
    (
        "清水区役所 1階 正面玄関ロビー",
        "静岡市清水区旭町6-8",
        "shimizu",
        "JR清水駅から徒歩約10分。",
        "正面玄関はスロープあり。車いすのまま相談できます。",
    ),
    (
        "札の辻クロスホール",
        "静岡市葵区呉服町一丁目1-2 札の辻クロス 6階",
        "aoi",
        "JR静岡駅から徒歩約10分、静鉄新静岡駅から徒歩約5分。",
        "エレベーターあり。多目的トイレあり。",
    ),
    (
        "みなくる（駿河共生地区地域活動拠点）",
        "静岡市駿河区",
        "suruga",
        "しずてつジャストラインのバス停から徒歩約3分。",
        "段差なし。",
    ),
    (
        "パルシェ 貸会議室",
        "静岡市葵区黒金町49 パルシェ 7階",
        "aoi",
        "JR静岡駅直結。",
        "エレベーターあり。",
    ),
    (
        "静岡市番町市民活動センター",
        "静岡市葵区一番町50",
        "aoi",
        "静鉄バス「番町小学校前」から徒歩約2分。",
        "1階会場。多目的トイレあり。",
    ),
    (
        "オンライン（Zoom）",
        "",
        "online",
        "お申し込みの方に参加用のURLをお送りします。",
        "パソコンやスマートフォンからご参加いただけます。",
    ),
    (
        "レイアップ御幸町ビル 会議室",
        "静岡市葵区御幸町3-21",
        "aoi",
        "JR静岡駅から徒歩約5分。",
        "エレベーターあり。",
    ),
]

# Approximate positions (WGS 84) of the venues at a known address, written as GEO in
# calendar files so phones can show them on a map.
VENUE_COORDINATES = {
    "清水区役所 1階 正面玄関ロビー": (35.0153, 138.4892),
    "パルシェ 貸会議室": (34.9716, 138.3889),
}


@dataclass
class DemoSession:
    day_offset: int
    start: time
    end: time
    venue: str
    capacity: int
    waitlist_limit: int


@dataclass
class DemoEvent:
    title: str
    kind: str
    sector: str
    description: str
    what_to_bring: str
    sessions: list[DemoSession]
    sub_kind: str | None = None
    cohosts: list[str] = field(default_factory=list)
    employers: list[str] = field(default_factory=list)
    status: str = "published"
    audience: str = "おおむね50歳から75歳で、お仕事を探している方"
    arrival_note: str = ""


DEMO_JOIN_URL = "https://meet.example.jp/nextwork-shinkoryukai-demo"
CONTACT = ""  # the desk itself: its phone number and hours come from the settings (the call box)

EVENTS = [
    DemoEvent(
        title="シニア向け就職相談会 in 清水区（出張相談会）",
        kind="consultation",
        sector="general",
        description=(
            "「まだまだ働きたい！」「今どんな求人があるのか見てみたい」「希望する勤務時間が合う"
            "就職先はあるの？」など、ぜひご相談ください。会場ではシニア向け求人情報一覧も"
            "お持ち帰りいただけます。完全予約制・先着順です。"
        ),
        what_to_bring="筆記用具（履歴書は不要です）",
        arrival_note=(
            "開催時間（10時〜15時）の間、ご都合のよい時間にお越しください。"
            "ご相談は1人30分ほどです。"
        ),
        sessions=[
            DemoSession(14, time(10), time(15), "清水区役所 1階 正面玄関ロビー", 15, 10),
            DemoSession(15, time(10), time(15), "清水区役所 1階 正面玄関ロビー", 15, 10),
        ],
    ),
    DemoEvent(
        title="お仕事面談会（介護のお仕事）",
        kind="job_fair",
        sector="care",
        description=(
            "介護施設で働く「介護助手」のお仕事を、事業所の方から直接聞いて、その場で面談できます。"
            "介護の資格や経験がなくても大丈夫です。ハローワーク静岡との共催です。"
        ),
        what_to_bring="筆記用具、（お持ちの方は）ハローワーク受付票",
        sessions=[DemoSession(21, time(13, 30), time(16), "札の辻クロスホール", 30, 10)],
        cohosts=["ハローワーク静岡"],
        employers=["社会福祉法人あおい福祉会", "介護老人保健施設しみずの里", "デイサービスするが"],
    ),
    DemoEvent(
        title="介護のいろは研修",
        kind="training",
        sector="care",
        description="介護の仕事のイメージをつかめる入門研修です。食事や移動の介助の基本を体験します。",
        what_to_bring="動きやすい服装、上履き、筆記用具",
        sessions=[
            DemoSession(28, time(10), time(12), "みなくる（駿河共生地区地域活動拠点）", 20, 5),
        ],
        cohosts=["静岡市社会福祉協議会"],
    ),
    DemoEvent(
        title="ミドルシニア向けセカンドキャリアセミナー",
        kind="seminar",
        sector="community",
        description=(
            "50代からのキャリアの棚卸しと、地域での活躍の場を考えるセミナーです。"
            "在職中の方も歓迎します。午前・午後とも同じ内容です。"
        ),
        what_to_bring="筆記用具",
        sessions=[
            DemoSession(35, time(10), time(12), "パルシェ 貸会議室", 30, 10),
            DemoSession(35, time(14), time(16), "パルシェ 貸会議室", 30, 10),
        ],
        sub_kind="middle_senior",
    ),
    DemoEvent(
        title="兼業・副業・プロボノセミナー",
        kind="seminar",
        sector="community",
        description="経験を生かして地元の中小企業を支える、兼業・副業・プロボノという働き方を紹介します。",
        what_to_bring="筆記用具",
        sessions=[DemoSession(42, time(18, 30), time(20, 30), "静岡市番町市民活動センター", 20, 5)],
        sub_kind="side_job",
        cohosts=["静岡商工会議所"],
    ),
    DemoEvent(
        title="静岡市 新現役交流会（オンライン）",
        kind="exchange",
        sector="general",
        description=(
            "経営課題を抱える市内の中小企業と、豊富な知識・経験をもつ企業OBなど「新現役」の"
            "皆さんをオンラインでおつなぎします。"
        ),
        what_to_bring="インターネットにつながるパソコンまたはスマートフォン",
        sessions=[DemoSession(49, time(13), time(17, 10), "オンライン（Zoom）", 68, 0)],
    ),
    DemoEvent(
        title="警備・ビル管理・清掃のお仕事説明会",
        kind="job_fair",
        sector="security",
        description=(
            "生活のインフラを支える警備・ビル管理・清掃のお仕事を、事業所の方が説明します。"
            "60代・70代の方も活躍中です。静岡市シルバー人材センターとの共催です。"
        ),
        what_to_bring="筆記用具",
        sessions=[DemoSession(24, time(10), time(12), "レイアップ御幸町ビル 会議室", 40, 10)],
        cohosts=["静岡市シルバー人材センター"],
        employers=[
            "駿府警備保障株式会社",
            "清水ビルメンテナンス株式会社",
            "株式会社しずおかクリーンサービス",
        ],
    ),
]


def _at(day: date, t: time) -> datetime:
    return datetime.combine(day, t, tzinfo=TOKYO)


async def load_demo_data(db: AsyncSession, today: date | None = None) -> bool:
    """Loads the demo data unless there are events already. Returns whether it loaded."""
    repo = EventRepository(db)
    if await repo.count() > 0:
        return False
    today = today or datetime.now(TOKYO).date()

    orgs: dict[str, Organization] = {}
    for name, kind in ORGANIZATIONS:
        existing = await db.scalar(select(Organization).where(Organization.name == name))
        orgs[name] = existing or Organization(name=name, kind=kind)
        db.add(orgs[name])
    venues: dict[str, Venue] = {}
    for name, address, ward, access, barrier_free in VENUES:
        existing_venue = await db.scalar(select(Venue).where(Venue.name == name))
        venues[name] = existing_venue or Venue(
            name=name,
            address=address,
            ward=ward,
            access_notes=access,
            barrier_free_notes=barrier_free,
            latitude=VENUE_COORDINATES.get(name, (None, None))[0],
            longitude=VENUE_COORDINATES.get(name, (None, None))[1],
        )
        db.add(venues[name])
    await db.flush()

    created: list[Event] = []
    for spec in EVENTS:
        event = Event(
            title=spec.title,
            kind=spec.kind,
            sector=spec.sector,
            description=spec.description,
            what_to_bring=spec.what_to_bring,
            audience=spec.audience,
            arrival_note=spec.arrival_note,
            sub_kind=spec.sub_kind,
            status=spec.status,
            organizer_id=orgs["NEXTワークしずおか"].id,
            contact=CONTACT,
        )
        db.add(event)
        await db.flush()
        created.append(event)
        await repo.set_organizations(
            event.id,
            cohost_ids=[orgs[n].id for n in spec.cohosts],
            employer_ids=[orgs[n].id for n in spec.employers],
        )
        for s in spec.sessions:
            day = today + timedelta(days=s.day_offset)
            session = EventSession(
                event_id=event.id,
                venue_id=venues[s.venue].id,
                starts_at=_at(day, s.start),
                ends_at=_at(day, s.end),
                capacity=s.capacity,
                waitlist_limit=s.waitlist_limit,
                booking_opens_at=_at(today - timedelta(days=1), time(9)),
                booking_closes_at=_at(day - timedelta(days=1), time(17)),
            )
            if venues[s.venue].ward == "online":
                # A made-up link: it reaches only confirmed people (done page, mails, calls).
                session.is_online = True
                session.join_url = DEMO_JOIN_URL
                session.join_instructions = "ミーティングID: 000 0000 0000　パスコード: 2770"
            db.add(session)
            await db.flush()
            await BookingRepository(db).add_seats(session.id, 1, s.capacity)
    held_at = next(v for v in venues.values() if v.ward != "online")
    await load_indicator_demo(db, today, created, held_at)
    return True


DEMO_FAMILY_NAMES = (
    "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本".split()
)
DEMO_FAMILY_KANA = (
    "サトウ スズキ タカハシ タナカ イトウ ワタナベ ヤマモト ナカムラ コバヤシ カトウ ヨシダ "
    "ヤマダ ササキ ヤマグチ マツモト"
).split()


def _demo_person(i: int) -> ValidBooking:
    return ValidBooking(
        name=f"{DEMO_FAMILY_NAMES[i]} 一男",
        name_kana=f"{DEMO_FAMILY_KANA[i]} カズオ",
        phone=f"0543{i:06d}",
        age_band="65_69",
        ward="shimizu",
        heard_from="dm",
    )


async def load_demo_bookings(db: AsyncSession) -> None:
    """A few bookings that show what the desk deals with: a couple on one landline (同伴者)
    with a need at the door, and a full 出張相談会 whose waiting list moved up a person without
    e-mail, who is then on the call list (電話連絡リスト) once the worker has handled the
    notice. Booked through the booking core, as the desk would."""
    consultation = await db.scalar(
        select(Event).where(Event.title.like("%出張相談会%")).order_by(Event.id)
    )
    if consultation is None:
        return
    sessions = list(
        await db.scalars(
            select(EventSession)
            .where(EventSession.event_id == consultation.id)
            .where(EventSession.starts_at > clock.now())  # the demo's history is in the past
            .order_by(EventSession.starts_at)
        )
    )
    if not sessions:
        return
    first, second = sessions[0], sessions[-1]
    couple = ValidBooking(
        name="清水 一郎",
        name_kana="シミズ イチロウ",
        phone="0543542111",
        age_band="70_74",
        ward="shimizu",
        heard_from="magazine",
        companions=(ValidCompanion("清水 幸子", "シミズ サチコ"),),
        needs="妻は補聴器を使っています。前のほうの席を希望",
    )
    await book(db, first.id, couple, channel="phone")
    booked = [await book(db, second.id, _demo_person(i), channel="phone") for i in range(15)]
    waiting = ValidBooking(
        name="松井 春子",
        name_kana="マツイ ハルコ",
        phone="0543667788",
        age_band="70_74",
        ward="shimizu",
        heard_from="hello_work",
    )
    await book(db, second.id, waiting, channel="phone")
    # One of the fifteen calls off: the seat goes to 松井さん, who has no e-mail address.
    await cancel_booking(db, booked[3].code, booked[3].phone, reason="体調不良のため")
    online = await db.scalar(
        select(EventSession).where(EventSession.is_online.is_(True)).order_by(EventSession.id)
    )
    if online is not None:
        # Her confirmation mail (in .data/mail/new/) carries the join link; public pages do not.
        online_person = ValidBooking(
            name="駿河 花子",
            name_kana="スルガ ハナコ",
            phone="09012345678",
            email="hanako@example.jp",
            age_band="55_59",
            ward="suruga",
            heard_from="website",
        )
        await book(db, online.id, online_person)
