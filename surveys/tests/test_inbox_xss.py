"""SUR-09 for the reviewer inbox: hostile open-text answers rendered on the response page, the reply
form, the inbox, the customer card and the reviewer digest (HTML and text parts) in headless
Chromium. Every payload must show literally as text, nothing may run (no dialog), and template
syntax must not be evaluated."""

import math

import pytest
from django.core import mail
from django.urls import reverse

from conftest import sign_in
from customers.tests.factories import CustomerFactory
from surveys.card import CARD_RESPONSES
from surveys.services.review import DIGEST_MAX_ENTRIES, send_reviewer_digest
from surveys.tests.test_inbox_support import make_response, new_survey
from surveys.views.inbox_queries import PAGE_SIZE
from winback.tests.factories import DEMO_TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# The OWASP XSS filter-evasion cheat sheet (shortened where needed), markup that breaks out of
# attributes, comments and raw-text elements, template syntax of several engines, and Unicode tricks.
CHEAT_SHEET = [
    "<script>alert(1)</script>",
    "<script>alert('XSS')</script>",
    "<SCRIPT SRC=http://xss.rocks/xss.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    '<a onmouseover="alert(document.cookie)">xxs link</a>',
    '<IMG """><SCRIPT>alert("XSS")</SCRIPT>"\\>',
    "<IMG SRC=javascript:alert(String.fromCharCode(88,83,83))>",
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    "<IMG SRC= onmouseover=\"alert('xxs')\">",
    "<IMG onmouseover=\"alert('xxs')\">",
    '<IMG SRC=/ onerror="alert(String.fromCharCode(88,83,83))"></img>',
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;"
    "&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#39;&#41;>",
    "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A"
    "&#x61&#x6C&#x65&#x72&#x74&#x28&#x27&#x58&#x27&#x29>",
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0D;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    '<SCRIPT/XSS SRC="http://xss.rocks/xss.js"></SCRIPT>',
    '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>',
    '<SCRIPT/SRC="http://xss.rocks/xss.js"></SCRIPT>',
    '<<SCRIPT>alert("XSS");//\\<</SCRIPT>',
    "<SCRIPT SRC=http://xss.rocks/xss.js?< B >",
    "<SCRIPT SRC=//xss.rocks/.j>",
    "<IMG SRC=\"`<javascript:alert>`('XSS')\"",
    "<iframe src=http://xss.rocks/scriptlet.html <",
    "\\\";alert('XSS');//",
    '</TITLE><SCRIPT>alert("XSS");</SCRIPT>',
    '<INPUT TYPE="IMAGE" SRC="javascript:alert(\'XSS\');">',
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<IMG DYNSRC=\"javascript:alert('XSS')\">",
    "<IMG LOWSRC=\"javascript:alert('XSS')\">",
    "<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE><UL><LI>XSS</br>",
    "<IMG SRC='vbscript:msgbox(\"XSS\")'>",
    "<svg/onload=alert('XSS')>",
    "<svg onload=alert(1)>",
    "<BODY ONLOAD=alert('XSS')>",
    "<BGSOUND SRC=\"javascript:alert('XSS');\">",
    "<BR SIZE=\"&{alert('XSS')}\">",
    '<LINK REL="stylesheet" HREF="javascript:alert(\'XSS\');">',
    "<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
    '<META HTTP-EQUIV="Link" Content="<http://xss.rocks/xss.css>; REL=stylesheet">',
    '<STYLE>BODY{-moz-binding:url("http://xss.rocks/xssmoz.xml#xss")}</STYLE>',
    "<IMG STYLE=\"xss:expr/*XSS*/ession(alert('XSS'))\">",
    '<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(\'XSS\');">',
    '<META HTTP-EQUIV="refresh" CONTENT="0;url=data:text/html base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4K">',
    "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
    '<IFRAME SRC=# onmouseover="alert(document.cookie)"></IFRAME>',
    "<FRAMESET><FRAME SRC=\"javascript:alert('XSS');\"></FRAMESET>",
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\">",
    "<TABLE><TD BACKGROUND=\"javascript:alert('XSS')\">",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<DIV STYLE=\"width: expression(alert('XSS'));\">",
    "<BASE HREF=\"javascript:alert('XSS');//\">",
    '<OBJECT TYPE="text/x-scriptlet" DATA="http://xss.rocks/scriptlet.html"></OBJECT>',
    '<EMBED SRC="data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dH A6Ly93d3cudzMub3JnLzIwMDAvc3ZnIiB4"'
    ' type="image/svg+xml">',
    '<SCRIPT a=">" SRC="httx://xss.rocks/xss.js"></SCRIPT>',
    '<SCRIPT =">" SRC="httx://xss.rocks/xss.js"></SCRIPT>',
    '<A HREF="http://66.102.7.147/">XSS</A>',
    "<A HREF=\"javascript:document.location='http://www.google.com/'\">XSS</A>",
    '<a href="javascript:alert(1)">click me</a>',
    '<a href="jAvAsCrIpT&colon;alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "javascript:alert(1)",
    "</textarea><script>alert(1)</script>",
    "</textarea><img src=x onerror=alert(1)>",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus='",
    '" autofocus onfocus=alert(1) x="',
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<body onpageshow=alert(1)>",
    "<marquee onstart=alert(1)>XSS</marquee>",
    "<input autofocus onfocus=alert(1)>",
    "<select autofocus onfocus=alert(1)>",
    "<textarea autofocus onfocus=alert(1)>",
    "<keygen autofocus onfocus=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<template><script>alert(1)</script></template>",
    '<object data="javascript:alert(1)">',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><input type=submit>',
    "<button formaction=javascript:alert(1)>x</button>",
    "<isindex action=javascript:alert(1) type=image>",
    '<img src="x:x" onerror="alert(1)">',
    '<img src=1 href=1 onerror="javascript:alert(1)"></img>',
    "<svg><script>alert(1)</script></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    '<svg><a xlink:href="javascript:alert(1)"><text x=20 y=20>XSS</text></a>',
    '<iframe srcdoc="<script>alert(1)</script>">',
    '<iframe src="data:text/html,<script>alert(1)</script>">',
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<SCRIPT>alert(String.fromCharCode(88,83,83))</SCRIPT>",
    "<script>document.write('<img src=x onerror=alert(1)>')</script>",
    "<script src=data:,alert(1)></script>",
    "<img src=`x` onerror=alert(1)>",
    "<img/src/onerror=alert(1)>",
    "<img\nsrc=x\nonerror=alert(1)>",
    "<img src=x onerror=alert&lpar;1&rpar;>",
    "<img src=x onerror=&#97;&#108;&#101;&#114;&#116;(1)>",
    "<img src=x onerror=\\u0061lert(1)>",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "\\x3cscript\\x3ealert(1)\\x3c/script\\x3e",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "<script>alert(1)</script",
    '<script type="text/javascript">alert(1);</script>',
    '<style>@keyframes x{}</style><p style="animation-name:x" onanimationstart="alert(1)">',
    "<div onpointerover=alert(1)>hover</div>",
    "<x contenteditable onblur=alert(1)>lose focus!",
    "<link rel=import href=data:text/html,<script>alert(1)</script>>",
    "line one\n<script>alert(1)</script>\nline three",
]
TEMPLATE_SYNTAX = [
    "{{7*7}}",
    "{{ 7*7 }}",
    "${7*7}",
    "#{7*7}",
    "<%= 7*7 %>",
    "{% debug %}",
    "{% load static %}{% static 'x' %}",
    "{{ request.user.password }}",
    "{{ settings.SECRET_KEY }}",
    "{% include 'base.html' %}",
    "{# comment #}visible",
    "{{constructor.constructor('alert(1)')()}}",
    "[[7*7]]",
    "{{'a'.constructor.prototype.charAt=[].join;$eval('x=alert(1)')}}",
    "{% templatetag openvariable %} 7*7 {% templatetag closevariable %}",
    "{% now 'Y' %}",
]
UNICODE_TRICKS = [
    "zero\u200bwidth\u200c<script>\u200dalert(1)</script>",
    "<scr\u200bipt>alert(1)</scr\u200bipt>",
    "\u202e>tpircs/<)1(trela>tpircs<",
    "invoice\u202egpj.exe",
    "\u2067<img src=x onerror=alert(1)>\u2069",
    "\ufeff<script>alert(1)</script>",
    "<img src=x onerror=alert(1)\u00a0>",
    "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
    "<\u017fcript>alert(1)</\u017fcript>",
    "\U0001d4e7\U0001d4e2\U0001d4e2 <img src=x onerror=alert(1)> \U0001f600",
    "\u0645\u0631\u062d\u0628\u0627 <script>alert(1)</script> \u05e9\u05dc\u05d5\u05dd",
    "\u041f\u0440\u0438\u0432\u0435\u0442 <svg onload=alert(1)>",
    "a\u2028<script>alert(1)</script>\u2029b",
]
BREAKOUTS = [
    '">',
    "'>",
    "</textarea>",
    "</title>",
    "-->",
    "</script>",
    "</style>",
    "</noscript>",
    "</select>",
    "</iframe>",
]
CORES = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>"]
PAYLOADS = list(
    dict.fromkeys(CHEAT_SHEET + TEMPLATE_SYNTAX + UNICODE_TRICKS + [b + c for b in BREAKOUTS for c in CORES])
)

# Those aimed at a form field (the reply form quotes the answer in a textarea).
FORM_FIELD_PAYLOADS = {p for p in PAYLOADS if "textarea" in p.lower() or "{" in p or p.startswith(('"', "'"))}

RECORDER = """
window.__csp = 0;
document.addEventListener("securitypolicyviolation", () => { window.__csp += 1; });
"""


def _serve(body: str, content_type: str):
    """A route handler that answers with the email part, as a mail client's viewer would show it."""

    def handler(route, request) -> None:
        route.fulfill(body=body, content_type=f"{content_type}; charset=utf-8")

    return handler


def _normal(text: str) -> str:
    return " ".join(text.split())


def test_the_payload_list_is_long_enough_and_fits_the_excerpts():
    assert 150 <= len(PAYLOADS) <= DIGEST_MAX_ENTRIES
    assert all(len(payload) <= 150 and "\x00" not in payload for payload in PAYLOADS)


def test_sur09_hostile_answers_are_shown_as_text_and_never_run(page, live_server, administrator):
    survey = new_survey()
    responses = []
    for index, payload in enumerate(PAYLOADS):
        if index % CARD_RESPONSES == 0:
            customer = CustomerFactory(name=f"Hostile {index // CARD_RESPONSES:03d}")
        responses.append(make_response(customer=customer, survey=survey, text=payload, event_status="closed"))
    expected = {_normal(payload) for payload in PAYLOADS}

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(RECORDER)
    csp_violations = 0
    sign_in(page, administrator.username, DEMO_TEST_PASSWORD)

    def visit(url: str) -> None:
        nonlocal csp_violations
        page.goto(url)
        page.wait_for_load_state("load")
        csp_violations += page.evaluate("window.__csp || 0")

    # The response page (the full answer, line breaks kept) and, for the payloads aimed at form
    # fields, the reply form that quotes the answer in a textarea.
    for response, payload in zip(responses, PAYLOADS, strict=True):
        visit(reverse("surveys:response_detail", args=[response.pk]))
        assert _normal(page.locator(".answer-text").inner_text()) == _normal(payload), payload
        if payload in FORM_FIELD_PAYLOADS:
            visit(reverse("surveys:response_reply", args=[response.pk]))
            assert _normal(page.locator("textarea[name=told]").input_value()) == _normal(payload), payload

    # The inbox (excerpts).
    shown: set[str] = set()
    for number in range(1, math.ceil(len(PAYLOADS) / PAGE_SIZE) + 1):
        visit(reverse("surveys:inbox") + f"?page={number}")
        shown.update(_normal(text) for text in page.locator(".inbox-excerpt").all_inner_texts())
    assert expected <= shown, expected - shown

    # The customer cards (excerpts in quotes).
    shown = set()
    for customer_id in sorted({response.customer_id for response in responses}):
        visit(reverse("customers:detail", args=[customer_id]))
        shown.update(_normal(text)[1:-1] for text in page.locator(".card-response-excerpt").all_inner_texts())
    assert expected <= shown, expected - shown

    # The reviewer digest: the HTML part as a mail client's browser shows it, the text part as text.
    UserFactory(username="digest-reader", role="Executives")
    send_reviewer_digest()
    message = mail.outbox[-1]
    parts = {"/__digest.html": (message.alternatives[0][0], "text/html"), "/__digest.txt": (message.body, "text/plain")}
    for path, (body, content_type) in parts.items():
        page.route(f"**{path}", _serve(body, content_type))
    visit("/__digest.html")
    cells = {_normal(text) for text in page.locator("tbody tr td:nth-child(3)").all_inner_texts()}
    assert expected <= cells, expected - cells
    visit("/__digest.txt")
    text = _normal(page.locator("body").inner_text())
    missing = [payload for payload in PAYLOADS if f'"{_normal(payload)}"' not in text]
    assert not missing, missing
    assert '"{{7*7}}"' in text
    assert '"{% debug %}"' in text

    executions = len(dialogs)
    print(f"SUR-09: payloads={len(PAYLOADS)} executions={executions} csp_violations={csp_violations}")
    assert executions == 0, dialogs
