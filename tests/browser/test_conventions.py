"""Issue 18, "the same conventions everywhere", checked page-wide once a page's content has
loaded: shapes height×width×channels (never "6×28×28"), sizes and products with "×" (never
an ASCII "3x3", "2*0" or "3^2"), a true minus sign (U+2212) wherever a minus is meant,
never "-0", never an "e-4" exponent, "→" for an arrow. The API keeps ASCII; pages translate.

The checker is shared: ``page_text(page)`` collects what a person reads (the rendered text
of the page, program listings in <pre> excepted, since code keeps ASCII) and what a screen
reader says (aria-label, alt, title, SVG <title>/<desc> of visible elements);
``problems(text)`` names every breach. Both are tested on known bad input below, so a page
that passes has been looked at by a check that can fail.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

MINUS = "\u2212"

# What a person reads and what a screen reader says, with program listings left out.
PAGE_TEXT = """() => {
  const visible = (e) => e.checkVisibility ? e.checkVisibility() : e.getClientRects().length > 0;
  let text = document.body.innerText;
  for (const pre of document.querySelectorAll("pre")) {
    if (visible(pre) && pre.innerText) text = text.replace(pre.innerText, "\\n");
  }
  const said = [];
  for (const e of document.body.querySelectorAll("*")) {
    if (e.closest("pre")) continue;
    const tag = e.tagName.toLowerCase();
    if (e instanceof SVGElement && (tag === "desc" || tag === "title")) {
      if (e.parentElement && visible(e.parentElement)) said.push(e.textContent);
      continue;
    }
    if (!visible(e)) continue;
    for (const a of ["aria-label", "alt", "title"]) {
      const v = e.getAttribute(a);
      if (v) said.push(v);
    }
  }
  return text + "\\n" + said.join("\\n");
}"""

# A size, shape or factor in ASCII: "28x28", "3 x 3", "3.1x as many" (pages write "28×28", "3.1×").
ASCII_TIMES = re.compile(r"\d ?[xX] ?\d|\d[xX](?!\w)|\b(?:width|height|depth|[A-Z]) x (?:width|height|depth|[A-Z])\b")
# A hyphen-minus where a minus is meant: "-0.5", "(-2", "= -1", "6 - 3". Not a hyphen inside a
# word or a range ("LeNet-5", "ResNet-50", "CIFAR-10", "1-5"), nor a suspended one after a
# hyphenated name ("ResNet-18 and -34").
HYPHEN_MINUS = re.compile(r"(?<![\w.\-])-\s?\d")
SUSPENDED = re.compile(r"\w-\d+ (?:and|or) $")
# The ASCII product and power of a formula: "2*0", "(3*3*1 + 1)*1", "3^2" (pages write 2×0, 3²).
ASCII_PRODUCT = re.compile(r"[\w)] ?\* ?[\w(]|\w\^\d")
# An ASCII arrow: "conv -> relu" (pages write →).
ASCII_ARROW = re.compile(r"->")
# A negative zero, either sign: "-0", "−0.000".
NEGATIVE_ZERO = re.compile(rf"(?<![\w.])[-{MINUS}]0(?:\.0+)?(?![\d.])")
# A computer exponent: "1e-8", "5.8e-3", "1E+06" (pages write 1×10⁻⁸).
EXPONENT = re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][-+]?\d+(?![\w.])")
# Three numbers joined by ×: a shape (a longer product, or one followed by "+", "=" or "/",
# is arithmetic: "(1024×7×7 + 1)×4096", "3×3×64×64 = 36,864").
SHAPE = re.compile(r"(?<![\d.×xX*])\d+(?:\s?[×xX]\s?\d+){2}(?![\d.]|\s?[×xX*]\s?\(?\d|\s*[-−+=/])")


def _excerpt(text: str, m: re.Match) -> str:
    return text[max(0, m.start() - 25): m.end() + 25].replace("\n", " / ")


def channels_first(dims: list[int]) -> bool:
    """A shape that reads channels first: the last two equal (height and width of a square
    map) and the first different ("6×28×28")."""
    return len(dims) == 3 and dims[1] == dims[2] and dims[0] != dims[1]


def problems(text: str) -> list[str]:
    """Every breach of the conventions in ``text``, each with where it is."""
    found = []
    for name, rule in [("ASCII x in a size", ASCII_TIMES), ("hyphen-minus for a minus", HYPHEN_MINUS),
                       ("negative zero", NEGATIVE_ZERO), ("e exponent", EXPONENT),
                       ("ASCII * or ^ in a formula", ASCII_PRODUCT), ("ASCII arrow", ASCII_ARROW)]:
        for m in rule.finditer(text):
            if rule is HYPHEN_MINUS and SUSPENDED.search(text[max(0, m.start() - 40): m.start()]):
                continue
            found.append(f"{name}: …{_excerpt(text, m)}…")
    for m in SHAPE.finditer(text):
        dims = [int(v) for v in re.split(r"\s?[×xX]\s?", m.group())]
        if channels_first(dims):
            found.append(f"channels-first shape {m.group()!r}: …{_excerpt(text, m)}…")
    return found


def prose(text: str) -> str:
    """A server sentence as pages write it (util.prose): "3x3" -> "3×3", "-1" -> "−1"."""
    return re.sub(r"(^|[\s(])-(?=\d)", f"\\1{MINUS}", re.sub(r"(\d)x(?=\d)", "\\1\u00d7", text))


def formula(text: str) -> str:
    """A server formula as pages write it (util.formula): prose, then " - " -> " − " and
    "*" -> "×" ("(7 - 3 + 2*1)/1 + 1" -> "(7 − 3 + 2×1)/1 + 1")."""
    return re.sub(r"\s*\*\s*", "\u00d7", prose(text).replace(" - ", f" {MINUS} "))


def page_text(page) -> str:
    return page.evaluate(PAGE_TEXT)


def assert_conventions(page) -> None:
    found = problems(page_text(page))
    assert found == [], f"{page.url}: " + "\n".join(found)


# ---------------------------------------------------------------- the checker can fail

@pytest.mark.parametrize("bad,rule", [
    ("a 28x28 input", "ASCII x"), ("1x1 conv, 128", "ASCII x"), ("5 x 5 filter", "ASCII x"),
    ("(32 - 5)/1 + 1", "hyphen-minus"), ("from (-2 to 3)", "hyphen-minus"), ("value -0.5", "hyphen-minus"),
    ("-1", "hyphen-minus"), ("lr=-3", "hyphen-minus"),
    (f"bias {MINUS}0", "negative zero"), (f"{MINUS}0.000 to 1", "negative zero"), ("sum -0", "negative zero"),
    ("eps 1e-8", "e exponent"), ("loss 5.8e-3", "e exponent"), ("1E+06 steps", "e exponent"),
    ("the naive module needs 3.1x as many", "ASCII x"), ("12x fewer", "ASCII x"),
    ("(width x height x depth)", "ASCII x"), ("then F x F", "ASCII x"),
    ("(3*3*1 + 1)*1", "ASCII *"), ("l2 * w", "ASCII *"), ("7^2", "ASCII *"), ("conv -> relu", "ASCII arrow"),
    ("between 2 and -3", "hyphen-minus"),
    ("conv1 6 × 28 × 28", "channels-first"), ("16×5×5", "channels-first"), ("(6×28×28)", "channels-first"),
])
def test_the_checker_finds_each_breach(bad, rule):
    found = problems(f"Some text, {bad}, more text.")
    assert any(rule in f for f in found), found


@pytest.mark.parametrize("good", [
    "28×28×6", "a 3×3 filter", "(32 − 5)/1 + 1 = 28", "−0.5 to 1.25", "LeNet-5, ResNet-50, CIFAR-10",
    "1×10⁻⁸", "0.000", "pages 1-5", "top-5 error", "5×5×16", "1×1×64", "x_train / 255.0", "max pool 2 → conv",
    "12e", "the 2nd", "−0.05", "10⁻⁴", "ResNet-18 and -34", "Caltech-101 and -256", "3.1× as many",
    "(3×3×1 + 1)×1", "width × height × depth", "x is added back as is", "a x b", "7²×64²", "(1024×7×7 + 1)×4096", "3×3×64×64 = 36,864",
])
def test_the_checker_passes_the_course_spelling(good):
    assert problems(good) == []


def test_formula_writes_the_servers_ascii_as_the_pages_do():
    assert formula("(7 - 3 + 2*1)/1 + 1 = 7") == "(7 − 3 + 2×1)/1 + 1 = 7"
    assert formula("(227 - 300 + 2*0)/4 + 1 = -17.25") == "(227 − 300 + 2×0)/4 + 1 = −17.25"
    assert problems(formula("A 3x3 window over (32 - 5)/1 + 1 = 28, 2*2 = 4, -1")) == []


def test_the_collector_reads_text_names_and_svg_but_not_code(page, live_server):
    """On a loaded page, breaches planted in plain text, an aria-label, an SVG <desc> and an
    inline <code> are found; the same in a program listing (<pre>) and in hidden text are not."""
    page.goto(live_server + "/calculator")
    expect(page.locator("#out-volume")).to_have_text("5×5×1")
    page.evaluate("""() => {
      const main = document.querySelector("main");
      const add = (html) => main.insertAdjacentHTML("beforeend", html);
      add('<p>a 28x28 input</p>');
      add('<span role="img" aria-label="conv1 6 × 28 × 28"></span>');
      add('<svg width="10" height="10"><desc>eps 1e-8</desc><rect width="5" height="5"/></svg>');
      add('<p><code>(7 - 3 + 2*0)/1</code></p>');
      add('<pre>x = y[-1]  # 3x3</pre>');
      add('<p hidden>value -0.5</p>');
    }""")
    found = problems(page_text(page))
    kinds = sorted({f.split(":")[0].split(" '")[0] for f in found})
    assert kinds == ["ASCII * or ^ in a formula", "ASCII x in a size", "channels-first shape", "e exponent",
                     "hyphen-minus for a minus"], found
    assert not any("y[-1]" in f or "-0.5" in f for f in found), found


# ---------------------------------------------------------------- the pages, once loaded

ARCHITECTURES = ["lenet5", "alexnet", "vgg16", "vgg19", "googlenet", "resnet18", "resnet34", "resnet50", "resnet152"]


def test_learn_follows_the_conventions(page, live_server, console_errors):
    """/learn after one training call: the options' hints, the network's summary, the stats,
    and "Inside the network" with every map's shape height×width×channels, as the API's
    (C, H, W) read in the course's order."""
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server + "/learn?recipe=lenet5&per=1")
    page.wait_for_selector("#learn[data-status=ready]", timeout=30_000)
    page.click("#step")
    page.wait_for_function("() => Number(document.querySelector('#stat-step').textContent) >= 1", timeout=30_000)
    page.wait_for_function("() => !document.querySelector('#step').disabled")
    assert_conventions(page)
    run = page.evaluate("sessionStorage.getItem('convlab-learn-run')")
    view = page.request.get(f"{live_server}/api/learn/runs/{run}/view?image=0").json()
    shapes = [layer["tensor"]["shape"] for layer in view["feature_maps"]["layers"]]
    want = [f"{s[1]}×{s[2]}×{s[0]}" if len(s) == 3 else f"{s[0]} values" for s in shapes]  # (C, H, W) -> H×W×C
    labels = page.locator("#maps .ln-map-label .muted").all_inner_texts()[1:]  # row 0 is the input image
    assert [t.split(",")[0] for t in labels] == want
    assert "28×28×6" in want  # conv1 of LeNet-5: 6 maps of 28×28
    assert console_errors == []


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_architectures_follow_the_conventions(page, live_server, console_errors, arch):
    """/architectures with each network's table open to its last row (every block expanded):
    the notes, the layer details and formulas, the ideas and their diagrams."""
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server}/architectures?arch={arch}")
    page.wait_for_selector("#layer-table tbody tr.input-row")
    expect(page.locator("#idea-inception tbody tr")).not_to_have_count(0)
    expect(page.locator("#ilsvrc-points tbody tr")).not_to_have_count(0)
    if page.is_visible("#expand-all"):
        page.click("#expand-all")
        expect(page.locator("#layer-table tbody tr.sub")).not_to_have_count(0)
    assert_conventions(page)
    assert console_errors == []


def test_calculator_follows_the_conventions(page, live_server, console_errors):
    """/calculator through every course example, every kind of convolution, a quiz answer,
    a layer that does not fit and one that is impossible, and a stack of every layer type."""
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server + "/calculator")
    expect(page.locator("#out-volume")).to_have_text("5×5×1")
    page.wait_for_function("() => document.getElementById('quiz-question').textContent.length > 0")
    for key in ("six", "s1", "s2", "s3", "pad1", "cifar", "alexnet"):
        page.click(f'[data-example="{key}"]')
        expect(page.locator(f'[data-example="{key}"]')).to_have_attribute("aria-pressed", "true")
        assert_conventions(page)
    for key in ("mobilenet", "inception", "alexnet2", "depthwise", "dcgan", "text"):
        page.click(f"[data-kind-example={key}]")
        expect(page.locator(f"[data-kind-example={key}]")).to_have_attribute("aria-pressed", "true")
        assert_conventions(page)
    page.fill("#quiz-answer", "1")
    page.click("#quiz-form button[type=submit]")
    expect(page.locator("#quiz-feedback")).to_contain_text("Worked formula")
    for kind in ("conv", "relu", "pool", "flatten", "dense"):
        page.click(f'[data-add="{kind}"]')
    page.fill("#in-f", "300")  # impossible: the server's formula comes out negative
    expect(page.locator("#layer-error .formula")).to_contain_text(MINUS)
    assert_conventions(page)
    assert [e for e in console_errors if "status of 422" not in e] == []


def test_train_follows_the_conventions(page, live_server, console_errors):
    """/train with every input feature, after some steps, a weight explained, the backprop
    section's numbers and the why-ReLU runs drawn."""
    page.set_viewport_size({"width": 1280, "height": 800})
    feats = '["x1","x2","x1^2","x2^2","x1*x2","sin(x1)","sin(x2)"]'
    page.goto(f"{live_server}/train?feats={feats}")
    page.wait_for_selector("#train[data-status=ready]")
    page.wait_for_function("() => document.querySelectorAll('#net .tr-node').length > 0")
    page.click("#step-btn")
    page.wait_for_function("() => document.querySelector('#step-count').textContent !== '0'")
    page.locator("#net .tr-node").first.hover()
    expect(page.locator("#weight-info h4")).to_contain_text("Input x1")
    page.wait_for_function("() => document.querySelectorAll('#bp-backward li').length === 9")
    page.locator("#why-relu").scroll_into_view_if_needed()  # its runs start when it is seen
    page.wait_for_function("() => document.querySelectorAll('#depth-loss path.curve').length === 3", timeout=60_000)
    text = page_text(page)
    assert "x1²" in text and "x1·x2" in text  # the features as the page writes them
    assert_conventions(page)
    assert console_errors == []
