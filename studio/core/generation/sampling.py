"""Choosing tokens: temperature, top-k, top-p, repetition penalty, stop sequences and brand rules, streamed.

One generation (:func:`stream`) reads the prompt once through the model's cache (GPT: KV cache; LSTM: its
state), then feeds one token at a time, so a token costs one small forward pass however long the text is.
Each step, in this order, on the next-token logits:

1. **Repetition penalty** (CTRL, Keskar et al. 2019): every token already in the prompt or the output has its
   logit divided by the penalty when positive and multiplied by it when negative, so it gets less likely
   whichever its sign. 1.0 is off. (With the character tokenizer nearly every letter is "already seen", so
   values above ~1.2 flatten a char model's spelling; BPE models take it better.)
2. **Banned words** are masked (logit -inf) *before* any filtering, so they can never be produced and the
   remaining probability is renormalized over the allowed tokens. See "Banned words" below.
3. **Required words** ("must appear") are reported after generation; with ``required_boost`` > 0 the tokens
   that start or continue a still-missing required word get that much added to their logit (a nudge, not
   a guarantee: a small model may still not write it, and the report says so). A Latin word counts as written
   only as a whole word (:func:`word_pattern`, the writer's chips use the same), so once its last letter is
   out the boost goes to the tokens that end a word, lest "organic" become "organicalm". ``enforce_required``
   asks the job (:class:`~studio.core.generation.text_jobs.GenerateText`) to write a variant again with other
   seeds, steered harder each time, until it has every required word — within a bounded number of tries and time.
4. **Temperature** (0 = greedy: always the most likely token), then **top-k** (0 = off), then **top-p**
   (nucleus: the smallest set of most likely tokens whose probabilities add up to at least p; 1.0 = off),
   then one draw from a ``torch.Generator`` of its own seeded with ``seed``: same model, prompt and settings
   give the same text on the same machine (CPU kernels may round differently on another CPU model or a GPU,
   and a different draw then follows).

Banned words, the method. Matching is on case-folded text (``str.casefold``: "FREE", "Free" and "free" are
one word) and on substrings: a banned "free" also blocks "freedom" and "carefree". Substrings are the only
sound choice for Chinese and Japanese, which have no spaces between words; for English it means banning
short words can block longer innocent ones, which the panel explains. The check is on *decoded text*, not on
token ids, because the same word is reachable through many token sequences:

* with the character tokenizer a word is written over several steps ("f", "r", "e", then "e"): the token
  that would *complete* it given the text so far is the one masked, so the model is steered to another
  spelling ("fre" + "t"), and a word cannot be finished even if the prompt already started it;
* with byte-level BPE one token may hold the whole word (" free"), a part of it ("fr" + "ee"), or more than
  it ("freeze"), and a token may end inside a multi-byte character (a Chinese banned word can be finished by
  a single byte). A candidate token is masked if the case-folded tail of the text so far (prompt included:
  the user reads them together) plus the candidate's decoded characters contains a banned word. Bytes that
  do not yet form a character are joined with the candidate's bytes first, so completion by a final byte
  is caught.

Speed: tokens whose own text contains a banned word are masked once per generation for the whole vocabulary
(a precomputed mask); the text-dependent check runs only on the :data:`CHECKED` most likely candidates
each step, and the token finally drawn is checked again — if it falls outside those candidates and would
complete a banned word (possible only from the far tail of the distribution), it is masked and the draw
repeated. So a banned word is never produced, at the cost of ~64 string checks per token.

Limits, stated plainly: no Unicode normalization beyond case folding (a full-width "ｆｒｅｅ" or "fr\u200bee" with
a zero-width space is not "free"); whitespace in a banned phrase must match exactly; a word split by a line
break or hyphen ("fre-e") is not caught; the prompt itself is never changed, only what the model adds.

Streaming. Pieces are whole characters only: bytes of a character cut across tokens are held back until it
is complete (an incremental UTF-8 decoder), so the panel never shows half an emoji. Text that could be the
start of a stop sequence is held back too, until it either completes the stop (generation ends there, the
stop itself is not output) or turns out not to. The pieces joined are exactly the final text. The token
budget counts tokens, so a text cut by ``max_tokens`` may end with an incomplete character; it is dropped.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace

from studio.core.jobs import JobError

MAX_TOKENS = 4096
MAX_SEED = 2**63 - 1
MAX_BOOST = 20.0  # the largest required-word boost checked() accepts
CHECKED = 64  # candidates whose decoded text is checked against the banned words each step
FINISH = ("length", "stop", "end", "blocked")  # why a text ended: budget, stop sequence, end-of-text, all banned


@dataclass
class SamplingSettings:
    """Everything that decides a generated text besides the model and the prompt (JSON-friendly)."""

    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 0.95
    repetition_penalty: float = 1.1
    max_tokens: int = 200
    seed: int = 0
    stop: list[str] = field(default_factory=list)
    banned_words: list[str] = field(default_factory=list)
    required_words: list[str] = field(default_factory=list)
    required_boost: float = 0.0  # logit bonus for tokens that start/continue a missing required word; 0 = off
    enforce_required: bool = False  # write a variant again (new seed, steered) until it has every required word

    def checked(self) -> SamplingSettings:
        """A cleaned copy (word lists stripped, empties and duplicates dropped), or a plain JobError."""

        def number(name, low, high, kind=float):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or (kind is int and int(value) != value)
                or not low <= value <= high
                or value != value
            ):
                what = "a whole number" if kind is int else "a number"
                raise JobError(f"{_LABELS[name]} must be {what} from {low:,} to {high:,}, not {value!r}.")
            return kind(value)

        def words(name, strip=True):
            values = getattr(self, name) or []
            if isinstance(values, str):
                values = [values]
            out = []
            for value in values:
                if not isinstance(value, str):
                    raise JobError(f"{_LABELS[name]} must be text, not {value!r}.")
                value = value.strip() if strip else value
                if value and value not in out:
                    out.append(value)
            return out

        if not isinstance(self.enforce_required, bool):
            raise JobError(f"{_LABELS['enforce_required']} must be true or false, not {self.enforce_required!r}.")
        top_p = number("top_p", 0.0, 1.0)
        if top_p <= 0.0:
            raise JobError("Top-p must be above 0 (1 keeps every token).")
        return SamplingSettings(
            temperature=number("temperature", 0.0, 5.0),
            top_k=number("top_k", 0, 1_000_000, int),
            top_p=top_p,
            repetition_penalty=number("repetition_penalty", 1.0, 3.0),
            max_tokens=number("max_tokens", 1, MAX_TOKENS, int),
            seed=number("seed", 0, MAX_SEED, int),
            stop=words("stop", strip=False),
            banned_words=words("banned_words"),
            required_words=words("required_words"),
            required_boost=number("required_boost", 0.0, MAX_BOOST),
            enforce_required=self.enforce_required,
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> SamplingSettings:
        """Settings from JSON (a history entry, the panel): unknown keys are ignored."""
        known = {name: values[name] for name in cls.__dataclass_fields__ if name in values}
        return cls(**known)


_LABELS = {
    "temperature": "Temperature",
    "top_k": "Top-k",
    "top_p": "Top-p",
    "repetition_penalty": "The repetition penalty",
    "max_tokens": "The length in tokens",
    "seed": "The seed",
    "stop": "Stop sequences",
    "banned_words": "Banned words",
    "required_words": "Required words",
    "required_boost": "The required-word boost",
    "enforce_required": "Making every variant use the required words",
}


def word_pattern(word: str) -> re.Pattern:
    """How a required (or never-use) word is found in a finished text, here and in the writer's chips alike:
    case-insensitive; a Latin word matches whole words only ("eco" is not in "economy"), while Chinese and
    other scripts written without spaces match anywhere (they have no word boundaries to look for)."""
    body = re.escape(word)
    if has_word_boundaries(word):
        body = rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])"
    return re.compile(body, re.IGNORECASE)


def has_word_boundaries(word: str) -> bool:
    """A Latin word (letters, digits, apostrophes, spaces, hyphens): it counts only as a whole word."""
    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9' -]*", word) is not None


def missing_words(text: str, required: list[str]) -> list[str]:
    """The required words ``text`` lacks, in their order (see :func:`word_pattern`)."""
    return [word for word in required if not word_pattern(word).search(text)]


def variant_settings(settings: SamplingSettings, index: int) -> SamplingSettings:
    """Variant ``index`` of a request: the same settings with seed ``seed + index``."""
    return replace(settings, seed=settings.seed + int(index))


# -- generation ---------------------------------------------------------------------------------------------------
class Generation:
    """An iterator of text pieces (whole characters) for one prompt and one seed; see the module docstring.

    After (or during) iteration: :attr:`text` (everything yielded so far, exactly), :attr:`finish` (one of
    :data:`FINISH`, None while running), :attr:`tokens` and :attr:`ids` (tokens generated) and :meth:`required` (which
    required words the text contains)."""

    def __init__(
        self,
        model,
        prompt: str,
        settings: SamplingSettings,
        check: Callable[[], None] | None = None,
        use_cache: bool = True,
    ) -> None:
        self.model, self.prompt = model, str(prompt)
        self.settings = settings.checked()
        self.check, self.use_cache = check, use_cache
        self.text = ""
        self.finish: str | None = None
        self.tokens = 0
        self.ids: list[int] = []  # the generated token ids (end-of-text excluded)
        self._pieces = self._run()

    def __iter__(self) -> Generation:
        return self

    def __next__(self) -> str:
        piece = next(self._pieces)
        self.text += piece
        return piece

    def required(self) -> dict[str, bool]:
        folded = self.text.casefold()
        return {word: word.casefold() in folded for word in self.settings.required_words}

    def summary(self) -> dict:
        return {
            "text": self.text,
            "finish": self.finish,
            "tokens": self.tokens,
            "seed": self.settings.seed,
            "required": self.required(),
        }

    # -- the loop -----------------------------------------------------------------------------------------------
    def _run(self) -> Iterator[str]:
        import torch

        s, model = self.settings, self.model
        rules = _Rules(model, s.banned_words, [w for w in s.required_words], s.required_boost, self.prompt)
        generator = torch.Generator().manual_seed(s.seed)
        ids = [model.eot_id, *model.tokenizer.encode(self.prompt)]  # eot = "a text starts here", as in training
        seen = torch.zeros(model.vocab_size, dtype=torch.bool)
        seen[torch.tensor(ids[1:], dtype=torch.long)] = True
        context = model.context()
        feed = context.feed if self.use_cache else context.recompute
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        stops, longest_stop = s.stop, max((len(x) for x in s.stop), default=0)
        out, emitted = "", 0
        self._check()
        logits = feed(ids)
        for count in range(s.max_tokens):
            token = self._choose(logits, seen, rules, generator)
            if token is None:
                self.finish = "blocked"
                break
            if token == model.eot_id:
                self.finish = "end"
                break
            self.tokens = count + 1
            self.ids.append(token)
            seen[token] = True
            new = decoder.decode(model.token_bytes[token])
            rules.advance(new, decoder.getstate()[0])
            if new:
                before = len(out)
                out += new
                hold = 0
                if stops:
                    start = max(0, before - longest_stop + 1)
                    hits = [i for i in (out.find(x, start) for x in stops) if i >= 0]
                    if hits:
                        out = out[: min(hits)]
                        if len(out) > emitted:
                            yield out[emitted:]
                        self.finish = "stop"
                        return
                    hold = max((k for x in stops for k in range(1, len(x)) if out.endswith(x[:k])), default=0)
                if len(out) - hold > emitted:
                    yield out[emitted : len(out) - hold]
                    emitted = len(out) - hold
            if count + 1 < s.max_tokens:
                self._check()
                logits = feed([token])
        else:
            self.finish = "length"
        if len(out) > emitted:  # a held-back start of a stop sequence that never completed
            yield out[emitted:]

    def _check(self) -> None:
        if self.check is not None:
            self.check()

    def _choose(self, logits, seen, rules: _Rules, generator) -> int | None:
        import torch

        s = self.settings
        logits = logits.clone()
        if s.repetition_penalty != 1.0:
            penalized = torch.where(logits > 0, logits / s.repetition_penalty, logits * s.repetition_penalty)
            logits = torch.where(seen, penalized, logits)
        checked = rules.apply(logits)
        while True:
            if rules.active and not bool(torch.isfinite(logits).any()):
                return None
            if s.temperature <= 0.0:
                token = int(torch.argmax(logits))
            else:
                token = _draw(logits, s.temperature, s.top_k, s.top_p, generator)
            if token in checked or not rules.completes_banned(token):
                return token
            logits[token] = float("-inf")  # from the unchecked tail: mask it and draw again
            checked.add(token)


def _draw(logits, temperature: float, top_k: int, top_p: float, generator) -> int:
    import torch

    scaled = logits / temperature
    if top_k and top_k < scaled.numel():
        kth = torch.topk(scaled, top_k).values[-1]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    probs = torch.softmax(scaled, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        before = torch.cumsum(sorted_probs, dim=0) - sorted_probs  # mass of the more likely tokens
        sorted_probs = sorted_probs.masked_fill(before >= top_p, 0.0)  # the first token is always kept
        return int(order[torch.multinomial(sorted_probs, 1, generator=generator)])
    return int(torch.multinomial(probs, 1, generator=generator))


class _Rules:
    """Banned and required words against the text so far (see the module docstring for the method)."""

    def __init__(self, model, banned: list[str], required: list[str], boost: float, prompt: str) -> None:
        import torch

        self.model = model
        self.banned = [w.casefold() for w in banned]
        self.required = [w.casefold() for w in required]
        self.boost = float(boost) if self.required else 0.0
        words = self.banned + self.required
        self.keep = max((len(w) for w in words), default=1) + 1  # +1: the character before a word
        self.tail = prompt.casefold()[-self.keep :]  # case-folded end of prompt + output (complete characters)
        self.output = ""  # case-folded output, to know which required words are still missing
        self.patterns = {w: word_pattern(w) for w in self.required}
        self.found: set[str] = set()  # required words the output has as whole words (as the job's check finds them)
        self.pending = b""  # bytes of a character not yet complete
        self._texts: dict[int, str] = {}
        self.static = None
        self.active = bool(self.banned)  # only masks can leave no token at all
        if self.banned:
            bad = [
                i
                for i, data in enumerate(model.token_bytes)
                if data and any(w in _complete_text(data).casefold() for w in self.banned)
            ]
            self.static = torch.zeros(len(model.token_bytes), dtype=torch.bool)
            if bad:
                self.static[torch.tensor(bad, dtype=torch.long)] = True

    def advance(self, new_text: str, pending: bytes) -> None:
        folded = new_text.casefold()
        self.tail = (self.tail + folded)[-self.keep :]
        if self.required:
            before = len(self.output)
            self.output += folded
            self.found.update(w for w in self.required if w not in self.found and self._written(w, before))
        self.pending = bytes(pending)

    def _written(self, word: str, before: int) -> bool:
        """Whether the output now has ``word`` as a whole word, looking only where the new text (which began at
        ``before``) can have completed or closed it. A Latin word at the very end is not written yet: the next
        character may glue it to another ("organic" + "alm")."""
        for match in self.patterns[word].finditer(self.output, max(0, before - len(word) - 1)):
            if match.end() < len(self.output) or not has_word_boundaries(word):
                return True
        return False

    def _ends_with(self, word: str) -> bool:
        """The output ends with ``word`` (a Latin one) starting at a word boundary: only a boundary may follow."""
        start = len(self.output) - len(word)
        return (
            start >= 0
            and self.output.endswith(word)
            and has_word_boundaries(word)
            and (start == 0 or not self.output[start - 1].isalnum())
        )

    def _text(self, token: int) -> str:
        """Case-folded characters that ``token`` completes after the pending bytes."""
        if not self.pending:
            text = self._texts.get(token)
            if text is None:
                text = self._texts[token] = _complete_text(self.model.token_bytes[token]).casefold()
            return text
        return _complete_text(self.pending + self.model.token_bytes[token]).casefold()

    def _suffix(self, word: str) -> str:
        """The last ``len(word) - 1`` characters of the text: all a new piece can complete ``word`` with."""
        return self.tail[max(0, len(self.tail) - len(word) + 1) :]

    def completes_banned(self, token: int) -> bool:
        if not self.banned:
            return False
        piece = self._text(token)
        return bool(piece) and any(w in self._suffix(w) + piece for w in self.banned)

    def _advances_required(self, token: int, missing: list[str]) -> bool:
        """True if ``token`` writes a missing word, or ends with the start of one (at a word boundary when
        the word starts with a Latin letter or digit, so "of" does not count as starting "free")."""
        piece = self._text(token)
        if not piece:
            return False
        text = self.tail + piece
        for w in missing:
            if w in self._suffix(w) + piece:
                return True
            for k in range(min(len(w) - 1, len(text)), 0, -1):
                if text.endswith(w[:k]):
                    start = len(text) - k
                    if not (w[0].isascii() and w[0].isalnum()) or start == 0 or not text[start - 1].isalnum():
                        return True
        return False

    def apply(self, logits) -> set[int]:
        """Mask banned completions among the likely candidates and boost required-word progress, in place.
        Returns the set of token ids whose text was checked."""
        import torch

        if self.static is not None:
            logits.masked_fill_(self.static, float("-inf"))
        missing = [w for w in self.required if w not in self.found] if self.boost > 0 else []
        if not self.banned and not missing:
            return set()
        closing = any(self._ends_with(w) for w in missing)  # a word just written: steer to a boundary after it
        candidates = torch.topk(logits, min(CHECKED, logits.numel())).indices.tolist()
        for token in candidates:
            if self.completes_banned(token):
                logits[token] = float("-inf")
            elif missing and (self._advances_required(token, missing) or (closing and self._closes(token))):
                logits[token] += self.boost
        return set(candidates)

    def _closes(self, token: int) -> bool:
        """``token`` starts with a character that ends a word (a space, a full stop…)."""
        piece = self._text(token)
        return bool(piece) and not piece[0].isalnum()


def _complete_text(data: bytes) -> str:
    """The characters ``data`` holds, without a trailing incomplete character (invalid bytes -> U+FFFD)."""
    return codecs.getincrementaldecoder("utf-8")("replace").decode(data)


def stream(
    model,
    prompt: str,
    settings: SamplingSettings | None = None,
    check: Callable[[], None] | None = None,
    use_cache: bool = True,
) -> Generation:
    """Text pieces (whole characters) as they are generated; ``check`` is called before every token (a job's
    ``ctx.check``: raising there stops at once). ``use_cache=False`` recomputes the whole window for every
    token (nanoGPT's way: the reference for tests and the benchmark's baseline)."""
    return Generation(model, prompt, settings or SamplingSettings(), check, use_cache)


def generate(
    model, prompt: str, settings: SamplingSettings | None = None, check: Callable[[], None] | None = None
) -> str:
    """The whole text at once (the pieces of :func:`stream` joined)."""
    return "".join(stream(model, prompt, settings, check))
