"""The board: columns with counts and money per stage, the top cards, and moving a card through
the state machine with htmx and with a plain form, for every role."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, CaseEvent, Stage
from cases.tests.factories import CaseFactory
from customers.models import Reason
from winback.tests.factories import UserFactory

BOARD = reverse("cases:board")
HTMX = {"HTTP_HX_REQUEST": "true"}


def move_url(case):
    return reverse("cases:board_move", args=[case.pk])


def columns(response) -> dict:
    return {column.stage: column for column in response.context["columns"]}


def closed_case(owner, value, stage, *, days_ago):
    case = CaseFactory(owner=owner, value_at_stake=Decimal(value))
    closed_at = timezone.now() - dt.timedelta(days=days_ago)
    Case.objects.filter(pk=case.pk).update(stage=stage, is_open=False, closed_at=closed_at, deadline_at=None)
    return case


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    assert client.get(BOARD)["Location"].startswith("/accounts/login/")
    case = CaseFactory()
    response = client.post(move_url(case), {"stage": "contacting"})
    assert response["Location"].startswith("/accounts/login/")
    case.refresh_from_db()
    assert case.stage == Stage.NEW


def test_a_user_without_a_role_is_refused(client, db):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(BOARD).status_code == 403


def test_columns_count_and_sum_the_visible_cases_of_each_stage(manager_client, manager, other_manager):
    values = {Stage.NEW: ["100", "250.50"], Stage.CONTACTING: ["300"], Stage.DIAGNOSED: ["40", "60", "1000"]}
    for stage, amounts in values.items():
        for amount in amounts:
            CaseFactory(owner=manager, stage=stage, value_at_stake=Decimal(amount))
    CaseFactory(owner=other_manager, stage=Stage.NEW, value_at_stake=Decimal("99999"))  # not mine
    CaseFactory(owner=None, value_at_stake=Decimal("88888"))  # the pool is not on my board
    closed_case(manager, "700", Stage.WON_BACK, days_ago=10)
    closed_case(manager, "5", Stage.LOST, days_ago=89)
    closed_case(manager, "123", Stage.LOST, days_ago=120)  # closed too long ago
    response = manager_client.get(BOARD)
    assert response.status_code == 200
    found = columns(response)
    for stage, amounts in values.items():
        assert found[stage].count == len(amounts)
        assert found[stage].total == sum(Decimal(a) for a in amounts)
    assert (found[Stage.WON_BACK].count, found[Stage.WON_BACK].total) == (1, Decimal("700"))
    assert (found[Stage.LOST].count, found[Stage.LOST].total) == (1, Decimal("5"))
    assert (found[Stage.LET_GO].count, found[Stage.OFFER_MADE].count) == (0, 0)
    html = response.content.decode()
    assert "closed in the last 90 days" in html
    assert "350.50" in html  # 250.50 + 100 (the "new" column)
    assert "1,100.00" in html  # 40 + 60 + 1000 (diagnosed)


@pytest.mark.parametrize("role_user", ["executive", "administrator"], indirect=True)
def test_executives_and_administrators_see_every_case_on_the_board(client, role_user):
    amounts = ["100", "200", "300"]
    for amount in amounts:
        CaseFactory(value_at_stake=Decimal(amount))
    CaseFactory(owner=None, value_at_stake=Decimal("50"))
    client.force_login(role_user)
    new = columns(client.get(BOARD))[Stage.NEW]
    assert (new.count, new.total) == (4, Decimal("650"))


def test_each_column_shows_its_top_ten_cards_with_a_link_to_the_rest(
    admin_client, manager, django_assert_max_num_queries
):
    for n in range(34):
        CaseFactory(
            owner=manager,
            stage=Stage.NEW if n % 2 else Stage.CONTACTING,
            value_at_stake=Decimal(100 + n),
            followers=[UserFactory(role="Account managers")],
        )
    with django_assert_max_num_queries(12):
        response = admin_client.get(BOARD, {"segment": ""})
    new = columns(response)[Stage.NEW]
    assert new.count == 17
    assert [card.value_at_stake for card in new.cards] == [Decimal(133 - 2 * n) for n in range(10)]
    assert new.queue_url.endswith("?stage=new")
    assert "Show all 17 in the queue" in response.content.decode()


@pytest.mark.parametrize("role_user", ["manager", "executive"], indirect=True)
def test_the_board_query_count_is_fixed_for_each_role(client, role_user, django_assert_max_num_queries):
    owner = role_user if role_user.username == "manager" else UserFactory(role="Account managers")
    followed_owner = UserFactory(role="Account managers")
    for n in range(32):
        if n % 2:
            CaseFactory(owner=owner, value_at_stake=Decimal(n))
        else:  # cards the manager only follows: can_work_case must not ask per card
            CaseFactory(owner=followed_owner, value_at_stake=Decimal(n), followers=[owner])
    client.force_login(role_user)
    with django_assert_max_num_queries(12):
        response = client.get(BOARD)
    assert columns(response)[Stage.NEW].count == 32  # owned and followed for the manager, all for the executive


def test_the_administrators_whole_board_adds_up_like_a_filtered_one(admin_client, manager):
    # The whole board counts each open stage on its own, a filtered one groups its rows: the
    # same figures either way, closed columns included.
    for stage, amounts in {Stage.NEW: ["10", "20"], Stage.DIAGNOSED: ["5.25"], Stage.OFFER_MADE: ["7"]}.items():
        for amount in amounts:
            CaseFactory(owner=manager, stage=stage, value_at_stake=Decimal(amount))
    closed_case(manager, "30", Stage.LOST, days_ago=3)
    closed_case(manager, "40", Stage.LOST, days_ago=100)  # closed too long ago
    whole = columns(admin_client.get(BOARD))
    narrowed = columns(admin_client.get(BOARD, {"owner": manager.pk}))
    expected = {
        Stage.NEW: (2, Decimal("30")),
        Stage.CONTACTING: (0, 0),
        Stage.DIAGNOSED: (1, Decimal("5.25")),
        Stage.OFFER_MADE: (1, Decimal("7")),
        Stage.WON_BACK: (0, 0),
        Stage.LOST: (1, Decimal("30")),
        Stage.LET_GO: (0, 0),
    }
    for board in (whole, narrowed):
        assert {stage: (column.count, column.total) for stage, column in board.items()} == expected
        assert [card.value_at_stake for card in board[Stage.LOST].cards] == [Decimal("30")]


def test_closed_columns_show_their_most_valuable_recent_cases_and_cards_show_overdue(admin_client, manager):
    for n in range(12):
        closed_case(manager, str(100 + n), Stage.WON_BACK, days_ago=5)
    closed_case(manager, "999", Stage.WON_BACK, days_ago=91)  # closed too long ago: not on the board
    late = CaseFactory(owner=manager, value_at_stake=Decimal("50"))
    Case.objects.filter(pk=late.pk).update(deadline_at=timezone.now() - dt.timedelta(days=1))
    response = admin_client.get(BOARD)
    won_back = columns(response)[Stage.WON_BACK]
    assert won_back.count == 12
    assert [card.value_at_stake for card in won_back.cards] == [Decimal(111 - n) for n in range(10)]
    html = response.content.decode()
    card = html[html.index(f'id="card-{late.pk}"') - 100 :]
    card = card[: card.index("</article>")]
    assert "border-danger" in card
    assert "Overdue" in card
    assert f'href="{reverse("cases:detail", args=[late.pk])}"' in card
    assert manager.username in card or manager.get_full_name() in card


def test_the_board_filters_like_the_queue(manager_client, manager):
    CaseFactory(owner=manager, primary_reason=Reason.PRICE, value_at_stake=Decimal("10"))
    CaseFactory(owner=manager, primary_reason=Reason.SERVICE, value_at_stake=Decimal("20"))
    new = columns(manager_client.get(BOARD, {"reason": Reason.PRICE}))[Stage.NEW]
    assert (new.count, new.total) == (1, Decimal("10"))


# --- moving a card -----------------------------------------------------------------------------


def test_a_plain_post_moves_the_card_and_redirects_to_the_board_with_a_message(manager_client, manager):
    case = CaseFactory(owner=manager)
    response = manager_client.post(move_url(case), {"stage": "contacting", "filters": "reason=price"})
    assert response.status_code == 302
    assert response["Location"] == BOARD + "?reason=price"
    case.refresh_from_db()
    assert case.stage == Stage.CONTACTING
    assert case.first_contact_at is not None
    assert case.history.filter(kind=CaseEvent.Kind.STAGE, actor=manager).count() == 1
    html = manager_client.get(response["Location"]).content.decode()
    assert "moved to “Contacting”" in html


def test_an_htmx_move_answers_with_the_new_board(manager_client, manager):
    case = CaseFactory(owner=manager, value_at_stake=Decimal("321"))
    response = manager_client.post(move_url(case), {"stage": "contacting"}, **HTMX)
    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "cases/lists/_board.html"
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="board"')
    found = columns(response)
    assert (found[Stage.NEW].count, found[Stage.CONTACTING].count) == (0, 1)
    case.refresh_from_db()
    assert case.stage == Stage.CONTACTING


def test_a_diagnosis_from_the_board_records_the_reason(manager_client, manager):
    case = CaseFactory(owner=manager, stage=Stage.CONTACTING, primary_reason="")
    manager_client.post(move_url(case), {"stage": "diagnosed", "reason": Reason.PRICE}, **HTMX)
    case.refresh_from_db()
    assert (case.stage, case.primary_reason) == (Stage.DIAGNOSED, Reason.PRICE)


def test_a_refused_htmx_move_changes_nothing_and_shows_the_message_on_the_card(manager_client, manager):
    case = CaseFactory(owner=manager, stage=Stage.CONTACTING, primary_reason="")
    response = manager_client.post(move_url(case), {"stage": "lost", "note": ""}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Say why the case is closed as “Lost”." in html
    assert f'id="card-{case.pk}"' in html
    case.refresh_from_db()
    assert case.stage == Stage.CONTACTING
    assert case.is_open
    assert not case.history.exists()


def test_a_refused_plain_move_changes_nothing_and_says_why(manager_client, manager):
    case = CaseFactory(owner=manager, stage=Stage.CONTACTING, primary_reason="")
    response = manager_client.post(move_url(case), {"stage": "diagnosed"}, follow=True)
    assert "Record the reason the customer left" in response.content.decode()
    case.refresh_from_db()
    assert case.stage == Stage.CONTACTING
    assert not case.history.exists()


def test_a_move_to_a_stage_the_machine_does_not_allow_is_refused(manager_client, manager):
    case = CaseFactory(owner=manager, stage=Stage.CONTACTING)
    response = manager_client.post(move_url(case), {"stage": "new"}, follow=True)
    assert "The case was not moved" in response.content.decode()
    case.refresh_from_db()
    assert case.stage == Stage.CONTACTING


def test_a_follower_may_move_the_card(manager_client, manager, other_manager):
    case = CaseFactory(owner=other_manager, followers=[manager])
    manager_client.post(move_url(case), {"stage": "contacting"})
    case.refresh_from_db()
    assert case.stage == Stage.CONTACTING


def test_another_managers_card_is_a_404_and_unchanged(manager_client, other_manager):
    case = CaseFactory(owner=other_manager)
    assert manager_client.post(move_url(case), {"stage": "contacting"}, **HTMX).status_code == 404
    assert manager_client.post(reverse("cases:board_move", args=[999999]), {"stage": "contacting"}).status_code == 404
    case.refresh_from_db()
    assert case.stage == Stage.NEW


def test_a_manager_may_not_move_a_pool_case_they_see(manager_client):
    case = CaseFactory(owner=None)
    assert manager_client.post(move_url(case), {"stage": "contacting"}).status_code == 403
    case.refresh_from_db()
    assert case.stage == Stage.NEW


def test_an_executive_moves_only_the_cases_they_took(executive_client, executive):
    other = CaseFactory()
    taken = CaseFactory(owner=executive, rescued_by=executive)
    assert executive_client.post(move_url(other), {"stage": "contacting"}).status_code == 403
    executive_client.post(move_url(taken), {"stage": "contacting"})
    other.refresh_from_db()
    taken.refresh_from_db()
    assert (other.stage, taken.stage) == (Stage.NEW, Stage.CONTACTING)


def test_an_administrator_moves_any_card(admin_client):
    case = CaseFactory()
    admin_client.post(move_url(case), {"stage": "let_go", "note": "Moved abroad"})
    case.refresh_from_db()
    assert (case.stage, case.is_open, case.close_note) == (Stage.LET_GO, False, "Moved abroad")


def test_the_cards_carry_keyboard_usable_move_forms_for_workable_cases_only(manager_client, manager):
    mine = CaseFactory(owner=manager)
    pool = CaseFactory(owner=None)
    html = manager_client.get(BOARD).content.decode()
    # A "Move" link per workable card: htmx fetches the card's form, without JavaScript the link
    # opens the case page's move form.
    assert f'hx-get="{move_url(mine)}"' in html
    assert f'href="{reverse("cases:move", args=[mine.pk])}"' in html
    assert html.count("data-move-link") == 1
    assert f'hx-get="{move_url(pool)}"' not in html
    card = manager_client.get(move_url(mine), HTTP_HX_REQUEST="true").content.decode()
    assert f'action="{move_url(mine)}"' in card
    assert f'hx-post="{move_url(mine)}"' in card
    assert card.count("data-move-form") == 1
    assert f'<label class="visually-hidden" for="move-{mine.pk}-stage">' in card
    assert " open>" in card
    plain = manager_client.get(move_url(mine))
    assert plain.status_code == 302
    assert plain["Location"] == reverse("cases:move", args=[mine.pk])
