"""Demo survey history for `make run` (`manage.py seed_survey_demo`): the invitations the send job
would have made for the demo's defection events, sent through the configured mail backend, and a
share of them answered in the customers' languages, some already reviewed — so the inbox, the
customer cards and the figures page open with something to look at.

Everything goes through the product's own services (create_invitations, the send batch, the
public form and submit_response, the reviewer's reason service); only the clock is the events'."""

import datetime as dt
import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.utils import timezone

from customers.models import DefectionEvent
from surveys.forms.public import SurveyResponseForm
from surveys.models import Invitation, InvitationStatus, Question
from surveys.services.invitations import create_invitations
from surveys.services.responses import record_open, submit_response
from surveys.services.review import response_set_reason
from surveys.services.sending import send_invitation_batch

ANSWER_SHARE = 0.3  # of the sent invitations; DESIGN.md: "up to one in five" answer in real life

# What a customer who left for each reason might write, per language (the option positions of the
# shipped survey follow customers.models.Reason: 1 product quality … 8 other).
WORDS = {
    "en": [
        "The last two deliveries had damaged items and nobody followed up.",
        "I called three times about an invoice and never got a call back.",
        "A competitor offered the same for 15% less, and you did not match it.",
        "Orders kept arriving a week late during the busy season.",
        "We were billed twice in March and the refund took two months.",
        "We moved our office to another city outside your delivery area.",
        "We no longer need this kind of supplies since we changed our business.",
        "Nothing dramatic, we simply consolidated our suppliers.",
    ],
    "ru": [
        "В последних двух поставках были повреждённые товары, и никто не перезвонил.",
        "Я три раза звонил по поводу счёта, и мне так и не ответили.",
        "Конкурент предложил то же самое на 15% дешевле.",
        "В сезон заказы приходили с опозданием на неделю.",
        "В марте нам дважды выставили счёт, а возврат занял два месяца.",
        "Мы переехали в другой город, куда вы не доставляете.",
        "Нам больше не нужны такие товары: мы сменили направление работы.",
        "Ничего особенного, мы просто сократили число поставщиков.",
    ],
    "bg": [
        "В последните две доставки имаше повредени стоки и никой не се обади.",
        "Звънях три пъти за фактура и никой не ми върна обаждане.",
        "Конкурент предложи същото с 15% по-евтино.",
        "През сезона поръчките закъсняваха с по седмица.",
        "През март ни таксуваха два пъти, а възстановяването отне два месеца.",
        "Преместихме офиса си в друг град, където не доставяте.",
        "Вече нямаме нужда от такива доставки, променихме дейността си.",
        "Нищо особено, просто намалихме броя на доставчиците.",
    ],
    "pl": [
        "W dwóch ostatnich dostawach były uszkodzone towary i nikt się nie odezwał.",
        "Dzwoniłem trzy razy w sprawie faktury i nikt nie oddzwonił.",
        "Konkurencja zaproponowała to samo o 15% taniej.",
        "W sezonie zamówienia przychodziły z tygodniowym opóźnieniem.",
        "W marcu dostaliśmy podwójną fakturę, a zwrot trwał dwa miesiące.",
        "Przenieśliśmy biuro do innego miasta, poza obszar dostaw.",
        "Nie potrzebujemy już takich dostaw, zmieniliśmy profil działalności.",
        "Nic szczególnego, po prostu ograniczyliśmy liczbę dostawców.",
    ],
}
REASON_WEIGHTS = [14, 22, 26, 12, 8, 5, 9, 4]  # service and price lead, as they usually do
FAULTS = {1: "ours", 2: "ours", 3: "unknown", 4: "ours", 5: "ours", 6: "not_ours", 7: "not_ours", 8: "unknown"}


@dataclass
class SurveyDemoResult:
    loaded: bool
    invitations: int = 0
    sent: int = 0
    responses: int = 0
    reviewed: int = 0


def _answers(rng: random.Random, questions: list[Question], language: str) -> tuple[dict, int]:
    """Form data for the shipped five-question survey, and the reason position chosen."""
    reason = rng.choices(range(1, 9), weights=REASON_WEIGHTS)[0]
    data = {}
    for question in questions:
        name = f"q{question.position}"
        options = [option.position for option in question.options.all()]
        if question.kind == Question.Kind.SINGLE_CHOICE:
            data[name] = str(reason if reason in options else options[-1])
        elif question.kind == Question.Kind.MULTIPLE_CHOICE and rng.random() < 0.6:
            data[name] = [str(p) for p in rng.sample(options, k=min(len(options), rng.randint(1, 2)))]
        elif question.kind == Question.Kind.RATING:
            data[name] = str(rng.choices([1, 2, 3, 4, 5], weights=[3, 4, 3, 1, 1])[0])
        elif question.kind == Question.Kind.OPEN_TEXT and rng.random() < 0.85:
            data[name] = WORDS.get(language, WORDS["en"])[reason - 1]
        elif question.kind == Question.Kind.CONTACT_CONSENT:
            consent = rng.random() < 0.5
            data[name] = "yes" if consent else "no"
            if consent:
                data[f"{name}_channel"] = rng.choice(["email", "phone", ""])
    return data, reason


def seed_survey_demo(*, if_empty: bool = True, seed: int = 11) -> SurveyDemoResult:
    if if_empty and Invitation.objects.exists():
        return SurveyDemoResult(loaded=False)
    rng = random.Random(seed)
    # The send job, as it would have run the night after each detection day.
    days = sorted(set(DefectionEvent.objects.values_list("as_of", flat=True)))
    for day in days:
        night = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(3)))
        night = min(night, timezone.now())
        create_invitations(now=night)
        while send_invitation_batch(limit=200, now=night).get("sent"):
            pass
    sent = list(
        Invitation.objects.filter(status=InvitationStatus.SENT)
        .select_related("survey", "customer", "event")
        .order_by("pk")
    )
    reviewer = get_user_model().objects.filter(groups__name="Executives", is_active=True).order_by("pk").first()
    result = SurveyDemoResult(loaded=True, invitations=Invitation.objects.count(), sent=len(sent))
    for invitation in sent:
        invited = timezone.make_aware(dt.datetime.combine(invitation.event.as_of, dt.time(9)))
        opens = rng.random() < ANSWER_SHARE * 1.6  # some open the link and leave it
        if opens:
            record_open(invitation=invitation, now=min(invited + dt.timedelta(days=1), timezone.now()))
        if not opens or rng.random() >= 1 / 1.6:
            continue
        questions = list(invitation.survey.questions.order_by("position").prefetch_related("options"))
        data, reason = _answers(rng, questions, invitation.language)
        form = SurveyResponseForm(questions, data)
        if not form.is_valid():
            raise ValueError(f"demo answers do not fit the survey: {form.errors.as_json()}")
        answered_at = min(invited + dt.timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 10)), timezone.now())
        response = submit_response(invitation, form.cleaned_data, questions=questions, now=answered_at)
        if response is None:
            continue
        result.responses += 1
        if reviewer and answered_at < timezone.now() - dt.timedelta(days=14) and response.stated_reason:
            response_set_reason(response=response, reason=response.stated_reason, fault=FAULTS[reason], actor=reviewer)
            result.reviewed += 1
    return result
