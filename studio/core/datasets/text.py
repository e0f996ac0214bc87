"""Text files: decode, check and normalize one source file for language-model training.

Every item becomes plain UTF-8 text in Unicode NFC with ``\\n`` line endings, because a character- or
byte-level model trained on a mix of encodings, composed/decomposed accents and CRLF/LF learns those
differences as if they were language. ``.txt`` and ``.md`` are kept as they are (Markdown syntax is text
too); ``.csv`` and ``.jsonl`` contribute the one column or field that holds the prose, one row/record per
paragraph.

Encodings. Many of the studio's users have files saved by Chinese Windows (GB18030/GBK), Taiwanese or
Hong Kong tools (Big5) or old Western software (Latin-1/Windows-1252), none of which say what they are.
``detect_encoding`` decides by evidence, strongest first: a byte-order mark; NUL bytes laid out like
BOM-less UTF-16; a clean UTF-8 decode (random legacy bytes almost never form valid UTF-8); and only then
a plausibility vote between GB18030, Big5 and Latin-1, where each candidate decode is scored by what its
non-ASCII characters look like (frequent Chinese characters and CJK punctuation for the CJK codecs,
accented letters inside Latin words for Latin-1; replacement, private-use and control characters count
against). The guess and a confidence go into ``meta`` so the dataset panel can show them and let the user
force another encoding through ``ImportOptions.text_encoding``.

Nothing here touches the file system, imports Qt or imports torch; ``normalize`` never raises.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import hashlib
import io
import json
import logging
import math
import posixpath
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from studio.core.datasets.base import FIXED, OK, ImportOptions, Normalized, format_bytes
from studio.core.words import count, verb

log = logging.getLogger(__name__)

SUFFIXES = frozenset({".txt", ".md", ".csv", ".jsonl"})
STORED_SUFFIX = ".txt"

# Encodings the panel offers in its picker (canonical names; any Python text codec may also be forced).
ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "gb18030", "big5", "latin-1", "cp1252")
_LABELS = {
    "utf-8": "UTF-8",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "utf-32": "UTF-32",
    "utf-32-le": "UTF-32 LE",
    "utf-32-be": "UTF-32 BE",
    "gb18030": "GB18030",
    "gbk": "GBK",
    "gb2312": "GB2312",
    "big5": "Big5",
    "latin-1": "Latin-1",
    "cp1252": "Windows-1252",
}
# Python's names for codecs, mapped to the names the studio shows and stores.
_ALIASES = {"iso8859-1": "latin-1", "utf-8-sig": "utf-8", "cp950": "big5"}
# The codec used to decode a canonical name. Big5 files in the wild come from Windows, whose Big5 (cp950)
# is a superset of plain Big5 (€, a few extra characters); decoding with it loses nothing.
_CODECS = {"big5": "cp950"}

_BOMS = (  # UTF-32 first: its little-endian BOM starts with the UTF-16 one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

BINARY = "not a text file (looks like binary data)"
SAMPLE_BYTES = 64 * 1024  # the encoding vote reads this much; more text rarely changes the winner
CONTROL_SHARE = 0.10  # more control characters than this (tabs and line breaks aside) means binary
UTF16_PARITY = 0.95  # BOM-less UTF-16: at least this share of NUL bytes sit on one byte parity
MOSTLY_UTF8 = 20  # valid UTF-8 sequences per broken one for "UTF-8 with a few damaged bytes"
LOW_CONFIDENCE = 0.5  # below this the encoding guess is flagged for a look
PLAUSIBLE_SCORE = 0.6  # a decode scoring this much is fully plausible on its own; wrong decodes stay below ~0.4
VOTE_SHARPNESS = 10.0  # logistic slope on the score margin between the best and second-best decode
AUTO_PICK_ROWS = 2000  # csv column auto-pick looks at this many rows
# Peak memory per byte of a text file, the file itself included (``decode_estimate``). Measured on 50 MB
# files: ASCII 4.4, Chinese 8.5, ASCII with one emoji (Python then stores 4 bytes per character) 10.2; so
# with the default budget a text file may be up to ~160 MB of ASCII or ~70 MB of anything else.
ASCII_BYTES_PER_BYTE, TEXT_BYTES_PER_BYTE = 5.0, 11.0
_WHITESPACE_CONTROLS = frozenset("\t\n\r\f\v")

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n\s*")  # a line holding only spaces separates paragraphs
_CJK = re.compile(
    "[\u1100-\u11ff\u3005\u3007\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f]"
)
_TOKEN = re.compile(r"\S+")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_KANA_BOPOMOFO_HANGUL = re.compile("[\u1100-\u11ff\u3040-\u30ff\u3100-\u318f\u31a0-\u31ff\uac00-\ud7af]")
_CJK_PUNCTUATION = frozenset("，。、；：？！「」『』（）《》〈〉【】…—·“”‘’\u3000～")
_WESTERN_MARKS = frozenset("“”‘’„‚«»‹›–—…•·¡¿°±£€¥§©®™×½¼¾\u00a0")  # what Latin-1/Windows-1252 prose uses

# About 1,000 of the most frequent characters of modern written Chinese (after Jun Da's corpus counts), in
# simplified and traditional forms. In the right decode most Chinese characters of a text are in this set;
# in a wrong one (Big5 bytes read as GB18030 or the other way round) only a few land here by chance.
_FREQUENT_SIMPLIFIED = (
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家"
    "种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十"
    "民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯"
    "月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女"
    "变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基"
    "眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今"
    "切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗"
    "字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写"
    "称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽"
    "推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧"
    "黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐帝限船脸职"
    "速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险"
    "待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积"
    "余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份"
    "穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮"
    "露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘"
    "谢鲁遇康虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅泽材"
    "灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇"
    "肉嘴馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸扩盖弄雄稳忘亿刺拥徒姆杨齐赛"
    "趣曲刀床迎冰虚玩析窗醒妻透购替塞努休虎扬途侵刑绿兄迅套贸毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱"
    "埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣雅振染盛怒舞圆搞狂措姓残秋培迷诚宽宇猛摆梅毁伸摩盟末乃悲拍丁赵践兼胸碰仁勇纷"
    "洪舍"
)
_FREQUENT_TRADITIONAL = (
    "這個們來為國說時會對過發後裡現當動還進從實軍無與長機開間問體頭應戰學經見點業將兩關樣種聽邊讓認門東聲員義幾條題爾"
    "別變總電數報結務場計資區隊書則難權設記張該規萬領確傳師觀識帶導爭運飛風轉準遠單愛擊備連調質團雖勢參眾構節護興驗責"
    "營紀舉殺蘇細願錢網熱屬職樂剛狀獨彈創錯腦預誰陽繼驚傷藥衛險陸習勞環歡獲雲龍樹層衝異漢簡擔靜積餘檢靈協揮勝階審堅媽"
    "劉讀買養懷執亂幫歲優鐵稅藝陣腳惡塊頓島戶評寶釋顧貨歐換聞壞討麗監臨價華級請際約復線視須稱紅響語僅隨選達許統給麼"
    "氣處論內產廣顯標談圖曆歷首醫專費號盡較輕農裝離況亞廠車親極辦議證筆亡鮮詞聖擇尋煙諾倫奧賣載陰園謀榮孫頂鎮爺練館"
    "礎紙諸訓莊絲戲隱訪軟蓋擁齊賽虛購揚綠貿畢輪庫跡競棄偉緩潛閃燈針絡純頁傑築鄭貝吳盛圓殘誠寬擺毀趙踐紛鬥雙採細倒臉"
    "適歸飯額順輸搖謂療澤滅夢溫劍漸貴槍缺樓縣秘謝魯慮銷鐘詩趕劇損舊錄葉鄉禮婦遺編測敗誤灣減雜艦魚亂適頭臺灣廳"
)
_FREQUENT_HAN = frozenset(_FREQUENT_SIMPLIFIED + _FREQUENT_TRADITIONAL)


class _Unreadable(Exception):
    """A source that cannot become a text item; ``str(exc)`` is the plain reason shown to the user."""


@dataclass
class _Decoded:
    text: str
    encoding: str  # canonical name, see ENCODINGS
    confidence: float  # 0..1; 1.0 for a BOM, clean UTF-8 or an encoding the user forced
    bom: bool  # a byte-order mark was removed
    replaced: int  # characters that could not be decoded and became U+FFFD
    forced: bool


# --------------------------------------------------------------------------------------------------------
# normalize
# --------------------------------------------------------------------------------------------------------


def normalize(data: bytes, name: str, options: ImportOptions) -> Normalized:
    """Turn one source file into a UTF-8 text item, or say in plain words why it cannot be one.

    The guard around the work is deliberate: the contract is that a hostile or odd file comes back as
    SKIPPED, and a bug here must cost the user one file, not the whole import.
    """
    try:
        return _normalize(data, name, options)
    except _Unreadable as exc:
        return Normalized.skipped(str(exc))
    except Exception:  # see docstring
        log.exception("text normalize failed for %s", name)
        return Normalized.skipped("could not be read as text (unexpected error; see the log)")


def _normalize(data: bytes, name: str, options: ImportOptions) -> Normalized:
    """Decode, refuse binary, take the prose out of csv/jsonl, then NFC and LF, then measure.

    Order matters: the binary check needs the decoded text (UTF-16 is full of NULs), and NFC/newline
    normalization runs on the extracted prose so their fixes are reported only when the prose changed.
    """
    if not data:
        raise _Unreadable("empty file")
    estimate = decode_estimate(data)
    if estimate > options.max_decode_bytes:
        largest = options.max_decode_bytes / (estimate / len(data))
        raise _Unreadable(
            f"too large to read safely (about {format_bytes(estimate)} of memory); split it into "
            f"files under {format_bytes(largest)}"
        )
    decoded = _decode(data, options.text_encoding)
    if _looks_binary(decoded.text):
        raise _Unreadable(BINARY)
    fixes, flags = _decoding_notes(decoded)
    fmt = _format_of(name)
    meta: dict = {"format": fmt, "encoding": decoded.encoding, "encoding_confidence": decoded.confidence}
    if decoded.replaced:
        meta["replaced_characters"] = decoded.replaced
    body = _extract(decoded.text, fmt, options, fixes, flags, meta)
    text = _normalize_unicode(body, fixes)
    if not text.strip():
        raise _Unreadable("no text in this file (only spaces and line breaks)")
    meta.update(measure(text))
    _note_duplicates(text, flags, meta)
    if fixes:
        status, payload = FIXED, text.encode("utf-8")
    else:
        status, payload = OK, data  # already clean UTF-8 text: store the original bytes untouched
    return Normalized(
        status=status,
        fixes=fixes,
        flags=flags,
        payload=payload,
        suffix=STORED_SUFFIX,
        dedupe_key=dedupe_key(text),
        meta=meta,
    )


def decode_estimate(data: bytes) -> int:
    """Bytes ``normalize`` holds at its peak for ``data`` (the file, its decoded text and the copies the
    measurements make). Pure ASCII is cheaper, and ``bytes.isascii`` tells without a copy."""
    factor = ASCII_BYTES_PER_BYTE if data.isascii() else TEXT_BYTES_PER_BYTE
    return int(len(data) * factor)


def _format_of(name: str) -> str:
    """The format ("txt", "md", "csv" or "jsonl") from the file name; anything else is read as plain text."""
    suffix = posixpath.splitext(name.replace("\\", "/").lower())[1]
    return suffix[1:] if suffix in SUFFIXES else "txt"


def _decoding_notes(decoded: _Decoded) -> tuple[list[str], list[str]]:
    """The fixes and flags that come from decoding (conversion, BOM, damaged bytes, an unsure guess)."""
    fixes: list[str] = []
    flags: list[str] = []
    label = encoding_label(decoded.encoding)
    if decoded.encoding != "utf-8":
        fixes.append(f"converted from {label} to UTF-8")
    elif decoded.bom:
        fixes.append("byte-order mark removed")
    if decoded.replaced:
        fixes.append(f"{count(decoded.replaced, 'undecodable character')} replaced with \ufffd")
    if decoded.forced and decoded.replaced > 0.01 * max(1, len(decoded.text)):
        flags.append(f"{label} may be the wrong encoding: {count(decoded.replaced, 'character')} could not be decoded")
    elif not decoded.forced and decoded.confidence < LOW_CONFIDENCE:
        flags.append(f"encoding guessed as {label} but not sure: check the text and pick another if garbled")
    return fixes, flags


def _extract(text: str, fmt: str, options: ImportOptions, fixes: list[str], flags: list[str], meta: dict) -> str:
    """The prose of the file: the whole text, or one csv column / jsonl field joined paragraph by paragraph."""
    if fmt == "csv":
        return _csv_text(text, options.csv_column, fixes, flags, meta)
    if fmt == "jsonl":
        return _jsonl_text(text, options.jsonl_field, fixes, flags, meta)
    return text


def _normalize_unicode(text: str, fixes: list[str]) -> str:
    """NFC and LF line endings, each reported only when it changed something."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
        fixes.append("Unicode normalized (NFC)")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        fixes.append("line endings normalized")
    return text


def _note_duplicates(text: str, flags: list[str], meta: dict) -> None:
    """Count paragraphs that repeat an earlier one in the same file; they are kept but worth a look."""
    paras = paragraphs(text)
    repeats = len(_repeats([paras]))
    meta["paragraphs"] = len(paras)
    meta["duplicate_paragraphs"] = repeats
    if repeats:
        flags.append(count(repeats, "duplicate paragraph"))


def dedupe_key(text: str) -> str:
    """sha256 of the normalized text, so one text saved as UTF-8 and as GB18030 is a duplicate.

    Leading and trailing whitespace is ignored: a copy that differs only by a final newline is the same text.
    """
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------------------------------------


def encoding_label(encoding: str) -> str:
    """The name a person knows an encoding by ("GB18030", "UTF-16 LE"), for fixes and the picker."""
    return _LABELS.get(encoding, encoding.upper())


def canonical_encoding(name: str) -> str:
    """The studio's name for a Python text codec ("latin1" -> "latin-1"); LookupError if there is none.

    Decoding a byte rejects bytes-to-bytes codecs (base64, zlib…), which ``codecs.lookup`` alone accepts.
    """
    b"x".decode(name, errors="ignore")
    found = codecs.lookup(name).name
    return _ALIASES.get(found, found)


def _decode(data: bytes, forced: str | None) -> _Decoded:
    """The text of ``data`` in the forced encoding, or in the detected one."""
    if forced:
        try:
            encoding = canonical_encoding(forced.strip())
        except LookupError:
            raise _Unreadable(f"unknown text encoding '{forced}'") from None
        confidence = 1.0
    else:
        detected, confidence = detect_encoding(data)
        if detected is None:
            raise _Unreadable(BINARY)
        encoding = detected
    text, replaced = _decode_with(data, encoding)
    bom = text.startswith("\ufeff")
    return _Decoded(
        text=text[1:] if bom else text,
        encoding=encoding,
        confidence=round(confidence, 3),
        bom=bom,
        replaced=replaced,
        forced=bool(forced),
    )


def _decode_with(data: bytes, encoding: str) -> tuple[str, int]:
    """Decode, replacing what cannot be decoded; also return how many characters were replaced."""
    codec = _CODECS.get(encoding, encoding)
    try:
        return data.decode(codec), 0
    except UnicodeDecodeError:
        text = data.decode(codec, errors="replace")
    genuine = data.count("\ufffd".encode()) if encoding == "utf-8" else 0  # U+FFFD written in the file
    return text, max(1, text.count("\ufffd") - genuine)


def detect_encoding(data: bytes) -> tuple[str | None, float]:
    """(encoding, confidence in 0..1) of ``data``; encoding None means it is not text at all.

    Evidence in order of strength: a byte-order mark; NUL bytes (only UTF-16 text has them, on one byte
    parity); a strict UTF-8 decode, which legacy-encoded text essentially never passes; UTF-8 with a few
    damaged bytes; and finally a vote between GB18030, Big5 and Latin-1/Windows-1252.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, 1.0
    if b"\x00" in data:
        return _utf16_without_bom(data)
    try:
        data.decode("utf-8")
        return "utf-8", 1.0
    except UnicodeDecodeError:
        pass
    mostly = _mostly_utf8(data)
    if mostly is not None:
        return "utf-8", mostly
    return _vote_legacy(data)


def _utf16_without_bom(data: bytes) -> tuple[str | None, float]:
    """UTF-16 without a BOM, recognised by its NUL bytes, or (None, 0.0) for binary data.

    ASCII characters in UTF-16 LE are ``xx 00`` and in BE ``00 xx``, so NULs pile up on odd (LE) or even
    (BE) offsets; binary formats scatter them on both. The strict decode rejects data with lone surrogates.
    """
    if len(data) % 2:
        return None, 0.0
    sample = data[:SAMPLE_BYTES]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    share = max(even, odd) / (even + odd)
    if share < UTF16_PARITY:
        return None, 0.0
    encoding = "utf-16-le" if odd > even else "utf-16-be"
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return None, 0.0
    nuls = even + odd
    return encoding, share * nuls / (nuls + 2)


def _mostly_utf8(data: bytes) -> float | None:
    """Confidence that ``data`` is UTF-8 with a few damaged bytes (a cut-off download, one bad sector).

    Valid multi-byte UTF-8 sequences are rare in legacy encodings, so many of them against a handful of
    broken ones means UTF-8; decoding it as GB18030 instead would garble every character.
    """
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode())
    good = len(text) - len(text.encode("ascii", "ignore")) - bad
    if bad <= 0 or good < MOSTLY_UTF8 * bad:
        return None
    return good / (good + bad)


def _vote_legacy(data: bytes) -> tuple[str, float]:
    """The most plausible of GB18030, Big5 and Latin-1 (or Windows-1252) for non-UTF-8 bytes.

    Confidence is the logistic of the margin over the runner-up, times how plausible the winner is on its
    own (Shift-JIS text loses everywhere), times how much evidence there was (a handful of accented
    letters is a weaker case than a page of Chinese).
    """
    sample = _sample(data)
    candidates = ("gb18030", "big5", _latin_family(data))
    scores: dict[str, tuple[float, int]] = {}
    for encoding in candidates:
        text = sample.decode(_CODECS.get(encoding, encoding), errors="replace")
        scores[encoding] = _plausibility(text, encoding)
    ranked = sorted(candidates, key=lambda e: -scores[e][0])  # stable: earlier candidates win ties
    best, runner_up = ranked[0], ranked[1]
    score, evidence = scores[best]
    margin = 1.0 / (1.0 + math.exp(-VOTE_SHARPNESS * (score - scores[runner_up][0])))
    plausible = min(1.0, max(0.0, score / PLAUSIBLE_SCORE))
    confidence = (2 * margin - 1) * plausible * evidence / (evidence + 2)
    return best, max(0.0, min(1.0, confidence))


def _sample(data: bytes) -> bytes:
    """The first ~64 KB, cut at a line break so no multi-byte character is split."""
    if len(data) <= SAMPLE_BYTES:
        return data
    cut = data.rfind(b"\n", 0, SAMPLE_BYTES)
    return data[:cut] if cut > SAMPLE_BYTES // 2 else data[:SAMPLE_BYTES]


def _latin_family(data: bytes) -> str:
    """Windows-1252 when bytes 0x80-0x9F occur and decode there (curly quotes, €, …), else Latin-1.

    In true Latin-1 those bytes are invisible control characters; in practice such files are Windows-1252.
    """
    if re.search(rb"[\x80-\x9f]", data):
        try:
            data.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    return "latin-1"


def _plausibility(text: str, encoding: str) -> tuple[float, int]:
    """Mean plausibility (-1..1) of the non-ASCII characters of one candidate decode, and their number.

    Only non-ASCII characters are judged: ASCII reads the same in every candidate.
    """
    weigh = _latin_weight if encoding in ("latin-1", "cp1252") else _cjk_weight
    weights = [weigh(text, m.start()) for m in _NON_ASCII.finditer(text)]
    if not weights:
        return 0.0, 0
    return sum(weights) / len(weights), len(weights)


def _is_junk(ch: str) -> bool:
    """Replacement, control, private-use, surrogate or unassigned: what wrong decodes are made of."""
    return ch == "\ufffd" or unicodedata.category(ch) in ("Cc", "Co", "Cs", "Cn")


def _cjk_weight(text: str, i: int) -> float:
    """Frequent Han characters and CJK punctuation are what Chinese text is made of; kana, bopomofo and
    Hangul in a GB18030/Big5 file are typical of a wrong decode, and a Han character wedged inside a Latin
    word ("na鍀e") is a misread accented letter."""
    ch = text[i]
    if _is_junk(ch):
        return -1.0
    if _HAN.match(ch):
        if _ascii_letter_at(text, i - 1) and _ascii_letter_at(text, i + 1):
            return 0.0
        if ch in _FREQUENT_HAN:
            return 1.0
        return 0.5 if ch in _common_han() else 0.0
    if ch in _CJK_PUNCTUATION:
        return 1.0
    if _KANA_BOPOMOFO_HANGUL.match(ch):
        return -0.25
    return 0.0


def _latin_weight(text: str, i: int) -> float:
    """An accented letter in a word that also has plain ASCII letters ("café", "Grüße") is Latin text; long
    runs of accented letters and symbols with no ASCII letter are CJK bytes read as Latin-1."""
    ch = text[i]
    if _is_junk(ch):
        return -1.0
    category = unicodedata.category(ch)
    if category.startswith("L"):
        word = _word_at(text, i)
        if any(c.isascii() for c in word):
            return 1.0
        return 0.5 if len(word) <= 2 else -0.5
    if ch in _WESTERN_MARKS:
        return 0.75
    return 0.25 if category[0] in "PSNZ" else 0.0


def _ascii_letter_at(text: str, i: int) -> bool:
    return 0 <= i < len(text) and text[i].isascii() and text[i].isalpha()


def _word_at(text: str, i: int) -> str:
    """The run of letters around position ``i``."""
    start, end = i, i + 1
    while start > 0 and text[start - 1].isalpha():
        start -= 1
    while end < len(text) and text[end].isalpha():
        end += 1
    return text[start:end]


@functools.lru_cache(maxsize=1)
def _common_han() -> frozenset[str]:
    """Han characters the standards themselves rank as common: GB2312 level 1 (3,755 characters, rows
    0xB0-0xD7) and Big5's frequently used block (5,401 characters, 0xA440-0xC67E). Built from Python's own
    codecs on first use, so no data file ships with the app."""
    chars = set()
    rows: list[tuple[str, int, Sequence[int]]] = [("gb2312", lead, range(0xA1, 0xFF)) for lead in range(0xB0, 0xD8)]
    rows += [("big5", lead, [*range(0x40, 0x7F), *range(0xA1, 0xFF)]) for lead in range(0xA4, 0xC7)]
    for codec, lead, trails in rows:
        for trail in trails:
            with contextlib.suppress(UnicodeDecodeError):
                chars.add(bytes((lead, trail)).decode(codec))
    return frozenset(c for c in chars if _HAN.match(c))


def _looks_binary(text: str) -> bool:
    """More than 10 % control characters (tabs and line breaks aside) is data, not prose."""
    sample = text[:100_000]
    if not sample:
        return False
    controls = sum(1 for ch in sample if (ch < " " and ch not in _WHITESPACE_CONTROLS) or "\x7f" <= ch <= "\x9f")
    return controls > CONTROL_SHARE * len(sample)


# --------------------------------------------------------------------------------------------------------
# csv and jsonl
# --------------------------------------------------------------------------------------------------------


def _csv_text(text: str, column: str | None, fixes: list[str], flags: list[str], meta: dict) -> str:
    """One column's cells, one paragraph each (joined by blank lines so multi-line cells stay together).

    The first row is the header. Without a chosen column the one with the most letters per cell wins:
    ids, labels and dates lose to prose. ``meta`` gets the choice and all names so the panel can offer a picker.
    """
    header, rows = _csv_rows(text)
    meta["csv_columns"] = header
    index = _csv_column_index(header, rows, column)
    cells = [row[index].strip() if index < len(row) else "" for row in rows]
    kept = [cell for cell in cells if cell]
    meta.update(csv_column=header[index], csv_rows=len(rows))
    if not kept:
        raise _Unreadable(f"column '{header[index]}' has no text")
    fixes.append(f"text taken from column '{header[index]}'")
    if len(kept) < len(cells):
        flags.append(f"{count(len(cells) - len(kept), 'row')} with no text in column '{header[index]}' left out")
    return "\n\n".join(kept)


def _csv_rows(text: str) -> tuple[list[str], list[list[str]]]:
    """(header names, data rows) with the delimiter guessed from the header line (, ; tab |)."""
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t|", key=first_line.count)  # ties go to ","; a one-column file has none at all
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise _Unreadable(f"not a readable CSV file ({exc})") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise _Unreadable("the CSV file has no rows under its header")
    header = [name.strip() or f"column {i + 1}" for i, name in enumerate(rows[0])]
    return header, rows[1:]


def _csv_column_index(header: list[str], rows: list[list[str]], column: str | None) -> int:
    """The chosen column (exact name, else ignoring case and spaces) or the most text-like one."""
    if column is not None:
        wanted = column.strip()
        if wanted in header:
            return header.index(wanted)
        folded = [name.casefold() for name in header]
        if wanted.casefold() in folded:
            return folded.index(wanted.casefold())
        raise _Unreadable(f"column '{column}' not found; columns are: {', '.join(header)}")
    sample = rows[:AUTO_PICK_ROWS]
    letters = [sum(_letters(row[i]) for row in sample if i < len(row)) / len(sample) for i in range(len(header))]
    best = max(range(len(header)), key=lambda i: letters[i])  # first of equals
    if letters[best] == 0:
        raise _Unreadable(f"no column holds text; columns are: {', '.join(header)}")
    return best


def _letters(cell: str) -> int:
    return sum(1 for ch in cell if ch.isalpha())


def _jsonl_text(text: str, field: str | None, fixes: list[str], flags: list[str], meta: dict) -> str:
    """One field of every JSON record, one paragraph each; lines that are not JSON are counted, not fatal.

    The field is the one asked for, else "text", else the first string field of the first record that has
    one. A record that is just a JSON string counts as its own text.
    """
    records, bad = _jsonl_records(text)
    meta["bad_lines"] = bad
    if bad:
        flags.append(f"{count(bad, 'line')} {verb(bad, 'is', 'are')} not valid JSON (skipped)")
    if not records:
        raise _Unreadable("no line is valid JSON")
    keys = _jsonl_keys(records)
    meta["jsonl_fields"] = keys
    chosen = field if field is not None else _default_field(records)
    if field is not None and field not in keys:
        raise _Unreadable(f"field '{field}' not found; fields are: {', '.join(keys) or '(none)'}")
    texts = [t for t in (_record_text(r, chosen) for r in records) if t and t.strip()]
    meta.update(jsonl_field=chosen, records=len(records))
    if not texts:
        raise _Unreadable(f"no text in field '{chosen}'" if chosen else "no record holds text")
    fixes.append(f"text taken from field '{chosen}'" if chosen else "text taken from the JSON lines")
    if len(texts) < len(records):
        what = f"field '{chosen}'" if chosen else "text"
        flags.append(f"{count(len(records) - len(texts), 'record')} without {what} left out")
    return "\n\n".join(t.strip() for t in texts)


def _jsonl_records(text: str) -> tuple[list, int]:
    """The parsed records and the number of non-blank lines that are not JSON."""
    records, bad = [], 0
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except (ValueError, RecursionError):
            bad += 1
    return records, bad


def _jsonl_keys(records: list) -> list[str]:
    """Every field name seen, in order of first appearance (for the panel's picker)."""
    keys: dict[str, None] = {}
    for record in records:
        if isinstance(record, dict):
            keys.update(dict.fromkeys(record))
    return list(keys)


def _default_field(records: list) -> str | None:
    dicts = [r for r in records if isinstance(r, dict)]
    if any(isinstance(r.get("text"), str) for r in dicts):
        return "text"
    for record in dicts:
        for key, value in record.items():
            if isinstance(value, str):
                return key
    return None


def _record_text(record, field: str | None) -> str | None:
    if isinstance(record, str):
        return record
    if isinstance(record, dict) and field is not None:
        value = record.get(field)
        return value if isinstance(value, str) else None
    return None


# --------------------------------------------------------------------------------------------------------
# paragraphs, duplicates and statistics
# --------------------------------------------------------------------------------------------------------


def paragraphs(text: str) -> list[str]:
    """The paragraphs of ``text``: blocks separated by blank lines, or single lines when it has none.

    A file of one sentence per line (common for chat logs and poems) has no blank lines, and there each line
    is the unit a trainer would see repeated. Paragraphs are stripped; empty ones are dropped.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()  # blank lines at the ends separate nothing
    parts = _BLANK_LINE.split(text) if _BLANK_LINE.search(text) else text.split("\n")
    return [part.strip() for part in parts if part.strip()]


def duplicate_paragraphs(texts: list[str]) -> list[tuple[int, int]]:
    """(text index, paragraph index) of every paragraph that repeats an earlier one, across all ``texts``.

    The first occurrence is kept and not listed; repeats within one text and across texts are both listed,
    so ``Counter(i for i, _ in result)`` gives per-file counts. Paragraphs are compared with runs of
    whitespace collapsed; ones without a letter or digit (``---``, ``* * *``) are separators, not content,
    and never count.
    """
    return _repeats([paragraphs(text) for text in texts])


def _repeats(texts: list[list[str]]) -> list[tuple[int, int]]:
    """``duplicate_paragraphs`` on texts already split into paragraphs."""
    seen: set[str] = set()
    repeats = []
    for t, paras in enumerate(texts):
        for p, para in enumerate(paras):
            if not any(ch.isalnum() for ch in para):
                continue
            key = " ".join(para.split())
            if key in seen:
                repeats.append((t, p))
            else:
                seen.add(key)
    return repeats


def measure(text: str) -> dict:
    """Size facts about one normalized text, for the item's meta and the dataset report.

    - characters: Unicode code points, as ``wc -m`` counts them (an emoji with a skin tone is 2)
    - words: whitespace-separated tokens holding a letter or digit, with CJK characters taken out first
      (they are counted on their own, since Chinese and Japanese do not put spaces between words)
    - cjk_characters: Han, Hiragana, Katakana and Hangul characters, each counted once
    - unique_characters: distinct code points including space and newline: the vocabulary a
      character-level model needs for this file
    - lines: lines of text, a last line without a final newline included
    """
    return {
        "characters": len(text),
        "words": count_words(text),
        "cjk_characters": len(text) - len(_CJK.sub("", text)),  # not findall: a list of 10⁷ one-character strings
        "unique_characters": len(set(text)),
        "lines": count_lines(text),
    }


def count_words(text: str) -> int:
    """Words of non-CJK scripts: tokens between whitespace (CJK characters act as spaces) with a letter or digit.

    Tokens are visited one at a time (``finditer``), not as a list: ``split()`` of a 50 MB file is ~8 million
    strings, over 400 MB. ``\\S`` and ``str.split`` agree on what is whitespace (both ask ``str.isspace``)."""
    return sum(1 for token in _TOKEN.finditer(_CJK.sub(" ", text)) if any(ch.isalnum() for ch in token.group()))


def count_lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


_SUMMED = ("characters", "words", "cjk_characters", "lines", "paragraphs", "duplicate_paragraphs", "bad_lines")


def text_stats(metas: list[dict]) -> dict:
    """Totals over the ``meta`` of a dataset's text items, for the dataset report.

    Distinct characters cannot be summed (the union needs the texts), so the report gets
    ``max_unique_characters``, the largest per-file count: a lower bound of the dataset's vocabulary. Metas
    without statistics (skipped items) are ignored.
    """
    items = [m for m in metas if m and "characters" in m]
    stats: dict[str, Any] = {key: sum(int(m.get(key) or 0) for m in items) for key in _SUMMED}
    stats["files"] = len(items)
    stats["max_unique_characters"] = max((int(m.get("unique_characters") or 0) for m in items), default=0)
    stats["encodings"] = dict(Counter(m["encoding"] for m in items if m.get("encoding")))
    return stats
