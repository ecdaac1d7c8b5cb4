"""Issue 18, "the same conventions everywhere", on /lessons and /classify.

What a student reads on both pages, once their content has loaded (the lessons' step views
walked through, a classify map zoomed into and a pixel's arithmetic open): sizes with "×",
never an ASCII "28x28"; a true minus sign, never a hyphen-minus before a number; no "e-4"
exponents; shapes height×width×channels, never channels first (6×28×28). Then the page's own
promises: the softmax table's numbers with one number of decimals per side and its sentences
reading the table's numbers; the server's ASCII formulas written as the course writes maths;
channels and examples numbered from 0 like rows and columns; a trace's sum in one precision;
the model card's BatchNorm note said once; the preprocessing sizes of the user's own file.

The checker below is a copy of the same ten lines as the shared one for the other pages
(tests/browser/test_conventions.py), kept here so that the two files do not depend on each
other; ``test_the_checker_finds_each_kind_of_slip`` shows that each rule can fail.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.browser.test_classify import api, site  # noqa: F401  (the fixture)
from tests.browser.test_classify_presentation import goto

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(__file__).parent / "screenshots"

# ---------------------------------------------------------------- the checker
RULES = {
    "an ASCII size (28x28)": re.compile(r"\d ?x ?\d"),
    "a hyphen-minus for a minus": re.compile(r"(?:^|[\s(\[=,:;/+×])-\s?\.?\d"),
    "an e-notation exponent": re.compile(r"\d[eE][-+−]?\d"),
}
SHAPE = re.compile(r"(\d+) ?× ?(\d+) ?× ?(\d+)")


def slips(text: str) -> list[str]:
    """Each place where ``text`` breaks the conventions, with a little context."""
    found = [f"{rule}: {text[max(0, m.start() - 40):m.end() + 10]!r}"
             for rule, rx in RULES.items() for m in rx.finditer(text)]
    found += [f"a channels-first shape: {text[max(0, m.start() - 40):m.end() + 10]!r}"
              for m in SHAPE.finditer(text) if m[2] == m[3] != m[1]]  # C×H×W, not H×W×C
    return found


def test_the_checker_finds_each_kind_of_slip():
    assert slips("a 28×28×6 volume, 3×3 filters, −0.175, rows 0–1, x − 2, 1.5×10⁻⁷, mnist-cnn, cifar10-0") == []
    bad = ["a 28x28 map", "3 x 3", "= -0.175", "(-1, 2)", "(6 - 3)/1", "eps 1e-8", "2.5E+3", "6×28×28", "16 × 5 × 5"]
    for text in bad:
        assert len(slips(text)) == 1, text


def page_text(page) -> str:
    """The main content's visible text, with every <details> opened first."""
    page.evaluate("document.querySelectorAll('main details').forEach((d) => { d.open = true; })")
    return page.locator("main").inner_text()


def checker_catches_a_slip_on(page):
    """The in-page half of 'can fail': a paragraph with one slip of each kind is found."""
    page.evaluate("""() => document.querySelector('main').append(Object.assign(document.createElement('p'),
        {id: 'planted', textContent: 'planted: 28x28, -3, 1e-4, 6×28×28'}))""")
    assert len(slips(page_text(page))) == 4
    page.evaluate("document.getElementById('planted').remove()")


# ---------------------------------------------------------------- /lessons
def open_lessons(page, live_server, query: str = ""):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/lessons" + query)
    page.wait_for_selector("#pool-output .cell")
    page.wait_for_selector("#bn-out tr.bn-y")
    page.wait_for_selector("#dp-table tr.dp-y")
    for sel in ("#sm-sum", "#fl-params", "#net-total", "#fm-params", "#n-verdict", "#am-tanh-range"):
        page.wait_for_function("(s) => document.querySelector(s).textContent.length > 0", arg=sel)


def walk(page, prefix: str, explain: str) -> list[str]:
    """Every sentence of a step view (pooling, softmax), from the start to the end."""
    if page.locator(f"#{prefix}-first").is_enabled():
        page.click(f"#{prefix}-first")
    said = []
    while not page.locator(f"#{prefix}-next").is_disabled():
        page.click(f"#{prefix}-next")
        said.append(page.inner_text(explain))
    return said


def test_lessons_follow_the_conventions(page, live_server, console_errors, shot):
    open_lessons(page, live_server)
    steps = walk(page, "pool", "#pool-explain") + walk(page, "sm", "#sm-explain")
    page.click("#bn-infer")  # inference: the other table and sentence
    page.wait_for_function("() => document.querySelector('#bn-explain').textContent.startsWith('Inference')")
    page.click("#dp-infer")
    page.wait_for_function("() => document.querySelector('#dp-explain').textContent.startsWith('Inference')")
    page.click("#n-large")  # a saturated neuron: its tiny gradients
    page.wait_for_function("() => document.querySelector('#n-verdict').dataset.saturated === 'true'")
    text = page_text(page)
    assert slips("\n".join([text, *steps])) == []
    # the server's formulas, written as the course writes maths
    assert "(4 − 2 + 2×0)/2 + 1 = 2" in page.inner_text("#pool-formula")
    assert "10×784 + 10 = 7,850" in page.inner_text("#fm-params")
    assert page.inner_text("#fl-features-formula").startswith("32×32×3 = 3,072")
    assert page.locator("#net-layers .mono").all_inner_texts() == ["3×4 + 4 = 16", "4×2 + 2 = 10"]
    checker_catches_a_slip_on(page)
    assert console_errors == []


def decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def num(text: str) -> float:
    return float(text.replace("−", "-").replace(",", ""))


def test_softmax_has_one_number_of_decimals_per_side_and_its_sentences_read_the_table(page, live_server, console_errors):
    open_lessons(page, live_server, "?scores=3.2,5.1,-1.7#softmax")  # the course's scores
    answer = page.request.post(live_server + "/api/softmax", data={"scores": [3.2, 5.1, -1.7]}).json()
    col = lambda cls: page.locator(f"#sm-rows .{cls}").all_inner_texts()  # noqa: E731
    shifted, exp, prob, total, top = col("shifted"), col("exp"), col("prob"), page.inner_text("#sm-sum"), page.inner_text("#sm-max")
    # the scores' side in the decimals they were typed with, the exponentials' side in four
    assert {decimals(t) for t in [*shifted, top]} == {1}
    assert {decimals(t) for t in [*exp, total, *prob]} == {4}
    assert [num(t) for t in shifted] == pytest.approx(answer["shifted"], abs=0.05)
    assert [num(t) for t in exp] == pytest.approx(answer["exp"], abs=5e-5)
    assert [num(t) for t in prob] == pytest.approx(answer["probabilities"], abs=5e-5)
    assert page.locator("#sm-bars .bar-value").all_inner_texts() == prob
    # the last step's sentence is the table's numbers: "0.0011 / 1.1507 = 0.0010"
    assert page.inner_text("#sm-explain").endswith(f"Normalise frog: {exp[2]} / {total} = {prob[2]}. Done: the probabilities add up to 1.")
    page.click("#sm-first")
    page.click("#sm-next")
    assert page.inner_text("#sm-explain").endswith(f"max(3.2, 5.1, −1.7) = {top}.")
    page.click("#sm-next")
    assert page.inner_text("#sm-explain").endswith(f"3.2 − {top} = {shifted[0]}.")
    assert f"({top})" in page.inner_text("#sm-shift-note")
    assert console_errors == []


def test_batchnorm_numbers_channels_and_examples_from_0_and_each_quantity_in_one_precision(page, live_server, console_errors, shot):
    open_lessons(page, live_server, "#batchnorm")
    assert "channels and the examples of a batch are numbered from 0" in page.inner_text(".conventions")
    example = page.request.get(live_server + "/api/lessons/batchnorm").json()
    rows, cols = len(example["x"]), len(example["x"][0])
    channels = [f"channel {c}" for c in range(cols)]
    assert page.locator("#bn-inputs thead th").all_inner_texts() == channels
    assert page.locator("#bn-out thead th").all_inner_texts()[1:] == channels
    heads = page.locator("#bn-inputs tbody th").all_inner_texts()
    assert heads[:rows] == [f"example {i}" for i in range(rows)]
    assert page.locator("#bn-out tr.bn-dx th").all_inner_texts() == [f"dL/dx, example {i}" for i in range(rows)]
    # the flatten lesson on the same page numbers its channels the same way
    assert "channel 0" in page.locator("#fl-svg").text_content()
    # one number of decimals for each quantity: all of dL/dx, all of x̂, each statistic
    for cls in ("bn-xhat", "bn-y", "bn-dx", "bn-dout", "bn-rm", "bn-dgamma"):
        texts = page.eval_on_selector_all(f"#bn-out tr.{cls} td", "tds => tds.map((t) => t.textContent)")
        assert len({decimals(t) for t in texts}) == 1, (cls, texts)
    dropout = page.eval_on_selector_all("#dp-table td.mono", "tds => tds.map((t) => t.textContent)")
    assert len({decimals(t) for t in dropout if t[0].isdigit() or t[0] == "−"}) == 1, dropout
    page.locator("#batchnorm").scroll_into_view_if_needed()
    shot("lessons-batchnorm-from-0", full_page=False)
    assert console_errors == []


# ---------------------------------------------------------------- /classify
CONV_MODELS = ["lenet5", "mnist-cnn", "cifar10-net"]


def shipped(name: str) -> bool:
    return (ROOT / "models" / f"{name}.onnx").exists()


def trace_a_conv_pixel(page, body: dict, which: int = 0) -> dict:
    """Zoom into map 1 of the model's `which`-th conv layer and trace its middle pixel."""
    conv = [la for la in body["layers"] if la["op_type"] == "Conv" and la["branch"] is None][which]
    col = page.locator(f'#layers .layer-col[data-layer="{conv["name"]}"]')
    col.scroll_into_view_if_needed()
    col.locator(".thumb").nth(1).click()
    page.wait_for_selector("#detail:not([hidden])")
    box = page.locator("#detail-map").bounding_box()
    with page.expect_response(lambda r: r.url.endswith("/trace")) as resp:
        page.locator("#detail-map").click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    page.wait_for_selector("#trace .equation")
    return resp.value.json()


@pytest.mark.parametrize("model", CONV_MODELS)
def test_classify_follows_the_conventions(page, site, console_errors, shot, model):  # noqa: F811
    if not shipped(model) or model not in [c["name"] for c in api(site.base, "/api/models")["models"]]:
        pytest.skip(f"{model} is not on this server")
    with page.expect_response(lambda r: r.url.endswith("/gradcam")):
        body = goto(page, f"{site.base}/classify?model={model}")
    page.wait_for_selector("#why-formula code")
    trace_a_conv_pixel(page, body, which=-1)
    scores = page.locator("#dense-flow .vec-button")
    if scores.count():  # the last dense layer's arithmetic, a table
        with page.expect_response(lambda r: r.url.endswith("/trace")):
            scores.first.click()
        page.wait_for_selector("#dense-trace .trace-table")
    text = page_text(page)
    assert slips(text) == []
    assert "alpha_k × A^k" in page.inner_text("#why-formula")  # the server's Grad-CAM formula
    card = page.inner_text("#model-card")
    assert "3×3" in card or "5×5" in card  # the card's sizes, with ×
    checker_catches_a_slip_on(page)
    shot(f"classify-conventions-{model}")
    assert console_errors == []


def equation_numbers(text: str) -> list[str]:
    return re.findall(r"−?\d[\d,]*(?:\.\d+)?", text)


def one_precision(t: dict) -> int:
    """The decimals util.fmtAll(values, 4) gives a trace's sum, bias and result together."""
    values = [t["sum"], t["bias"], t["result"], t["value"], *(c["sum"] for c in t["channels"]), t.get("rest_sum")]
    top = max(abs(v) for v in values if v is not None)
    return min(6, max(0, 3 - math.floor(math.log10(top)))) if top else 0


@pytest.mark.parametrize("model", ["lenet5", "cifar10-net"])
def test_a_traces_sum_is_written_in_one_precision(page, site, console_errors, model):  # noqa: F811
    if not shipped(model):
        pytest.skip(f"{model} is not on this server")
    body = goto(page, f"{site.base}/classify?model={model}")
    t = trace_a_conv_pixel(page, body)
    for _ in range(6):  # six pixels along a row: "sum −0.2420 + bias −0.2328 = −0.4748", never "−0.242"
        line = page.locator("#trace > .equation").last.inner_text()
        s, b, r = equation_numbers(line)
        assert decimals(s) == decimals(b) == decimals(r) == one_precision(t), line
        assert num(s) == pytest.approx(t["sum"], abs=10 ** -decimals(s))
        assert num(b) == pytest.approx(t["bias"], abs=10 ** -decimals(b))
        # the title and the closing sentence write the same value the same way
        assert page.inner_text("#trace .trace-title").endswith(f"= {r}")
        assert f"The arithmetic gives {r}," in page.inner_text("#trace")
        if len(t["channel_sums"]) > 1:  # "the 3 largest are a + b + c": as the sum is written
            chips = page.locator("#trace > p.small .chip").all_inner_texts()
            assert {decimals(c) for c in chips} == {decimals(s)}, chips
        page.locator("#detail-map").focus()
        with page.expect_response(lambda r: r.url.endswith("/trace")) as resp:
            page.keyboard.press("ArrowRight")
        t = resp.value.json()
        page.wait_for_function("(c) => document.querySelector('#trace .trace-title').textContent.includes(`column ${c} `)",
                               arg=t["position"]["col"])
    assert console_errors == []


@pytest.mark.parametrize("model", ["mnist-cnn", "cifar10-net", "lenet5"])
def test_batchnorm_folded_into_the_convolutions_is_said_once(page, site, console_errors, model):  # noqa: F811
    if not shipped(model):
        pytest.skip(f"{model} is not on this server")
    card = api(site.base, f"/api/models/{model}")
    folded = "folded into the convolutions" in card["description"]
    assert folded == (model != "lenet5")  # mnist-cnn and cifar10-net were trained with BatchNorm
    goto(page, f"{site.base}/classify?model={model}")
    said = page.locator("main").text_content().count("folded into the convolutions")
    assert said == (1 if folded else 0)
    assert page.locator("#network").get_by_text("Batch norm", exact=True).count() == 0  # no BN layer of its own
    if folded:
        page.locator("#model-card .model-details > summary").click()
        assert page.locator("#model-card").get_by_text("folded into the convolutions").is_visible()
    assert console_errors == []


def photo_jpeg(width: int, height: int) -> bytes:
    """A camera-sized JPEG: a dark digit-like stroke on a light, slightly noisy background."""
    im = Image.new("RGB", (width, height), (235, 232, 225))
    draw = ImageDraw.Draw(im)
    draw.line([(width * 0.35, height * 0.2), (width * 0.65, height * 0.2), (width * 0.45, height * 0.8)],
              fill=(20, 20, 30), width=max(4, width // 30))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


@pytest.mark.parametrize("model", ["cifar10-net", "mnist-cnn"])
def test_preprocessing_sizes_are_those_of_the_users_file(page, site, console_errors, shot, model):  # noqa: F811
    if not shipped(model):
        pytest.skip(f"{model} is not on this server")
    goto(page, f"{site.base}/classify?model={model}")
    image = photo_jpeg(640, 480)
    expected = api(site.base, f"/api/models/{model}/inspect", {"file": ("photo.jpg", image, "image/jpeg")})
    page.get_by_role("button", name="Upload", exact=True).click()
    with page.expect_response(lambda r: r.url.endswith("/inspect")) as resp:
        page.set_input_files("#file-input", files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": image}])
    assert resp.value.status == 200
    page.wait_for_function("(l) => document.querySelector('#verdict-label').textContent === l", arg=expected["label"])
    captions = page.locator("#prep-steps figcaption span").all_inner_texts()
    assert captions == [s["caption"] for s in expected["preprocessing"]]
    # the first step states the file's own size and that it was decoded reduced
    assert captions[0].startswith("your image, 640 × 480 px (decoded at reduced size, ")
    reduced = re.search(r"decoded at reduced size, (\d+) × (\d+)", captions[0])
    assert int(reduced[1]) < 640 and int(reduced[2]) < 480
    if model == "cifar10-net":  # a square crop of a 4:3 photo, in the file's pixels
        assert "centre-cropped to the middle 480 × 480 px of your image" in captions
    else:  # the digit's ink, in the file's pixels: a stroke across about a third of the photo
        crop = next(c for c in captions if c.startswith("cropped to the ink: "))
        w, h = map(int, re.search(r"(\d+) × (\d+) px of your image", crop).groups())
        assert 150 < w < 300 and 250 < h < 350, crop
    assert slips(page_text(page)) == []
    page.locator("#prep-steps").scroll_into_view_if_needed()
    shot(f"classify-upload-640x480-{model}", full_page=False)
    # a small PNG is decoded whole: nothing about a reduced decode
    small = io.BytesIO()
    Image.new("RGB", (64, 48), (235, 232, 225)).save(small, format="PNG")
    with page.expect_response(lambda r: r.url.endswith("/inspect")):
        page.set_input_files("#file-input", files=[{"name": "small.png", "mimeType": "image/png", "buffer": small.getvalue()}])
    page.wait_for_function("() => document.querySelector('#prep-steps figcaption span').textContent === 'your image, 64 × 48 px'")
    assert console_errors == []


def test_classifys_softmax_table_has_one_number_of_decimals_per_side(page, site, console_errors):  # noqa: F811
    body = goto(page, f"{site.base}/classify?model={site.grey}")
    if not body.get("softmax"):
        pytest.skip("this model's answer has no softmax table")
    page.locator("#softmax-details").evaluate("(d) => { d.open = true; }")
    cells = page.eval_on_selector_all("#softmax-table tbody tr", "trs => trs.map((tr) => [...tr.cells].slice(1).map((c) => c.textContent))")
    foot = page.eval_on_selector("#softmax-table tfoot tr", "tr => [...tr.cells].slice(3).map((c) => c.textContent)")
    scores, shifted, exp, prob = (list(c) for c in zip(*cells, strict=True))
    assert len({decimals(t) for t in scores + shifted}) == 1, scores + shifted
    assert len({decimals(t) for t in exp + prob + foot}) == 1, exp + prob + foot
    assert num(foot[1]) == 1 and num(foot[0]) == pytest.approx(body["softmax"]["sum"], abs=10 ** -decimals(foot[0]))
    top = max(scores, key=num)  # the note's max is the score column's largest, written alike
    assert f"Subtracting the largest score ({top})" in page.inner_text("#softmax-note")
    assert console_errors == []
