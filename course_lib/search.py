"""Greedy decoding and beam search, batched, recording the attention weights of every step (05).

Both work with any ``Seq2Seq`` through its ``encode`` / ``step`` protocol. Outputs are
``tokens (batch, out_len)``, ending with EOS unless ``max_len`` cut them, PAD after the end, and
``weights (batch, out_len, src_len)`` (zeros after the end; None for a model without attention).
PAD, SOS and UNK are never proposed: a model has no business producing them.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import torch

from course_lib.data.batching import pad
from course_lib.data.vocab import EOS, PAD, SOS, UNK, Vocab

FORBIDDEN = (PAD, SOS, UNK)


@contextmanager
def eval_mode(model: torch.nn.Module):
    """Run without gradients in eval mode, then restore the model's previous mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def without_forbidden(logits: torch.Tensor) -> torch.Tensor:
    """A copy of ``logits (..., vocab)`` with the forbidden tokens at -inf: what decoding picks
    from, so every probability the course reports is over the tokens a model may output."""
    logits = logits.clone()
    logits[..., list(FORBIDDEN)] = float("-inf")
    return logits


def _log_probs(logits: torch.Tensor) -> torch.Tensor:
    """Log-probabilities over the tokens a decoder may output (forbidden ones get -inf)."""
    return torch.log_softmax(without_forbidden(logits), dim=-1)


def encode_sources(
    sources: Sequence[Sequence[str]], src_vocab: Vocab
) -> tuple[torch.Tensor, torch.Tensor]:
    """Source token sequences as a padded batch, encoded as in training (no EOS appended):
    ``(src (batch, src_len), src_lengths (batch,))``."""
    rows = [src_vocab.encode(list(tokens), add_eos=False) for tokens in sources]
    if not rows or not all(rows):
        raise ValueError("every source needs at least one token (got an empty one or none)")
    return pad(rows), torch.tensor([len(r) for r in rows], dtype=torch.long)


def _check_max_len(max_len: int) -> None:
    if not isinstance(max_len, int) or isinstance(max_len, bool) or max_len < 1:
        raise ValueError(f"max_len must be a positive int, got {max_len!r}")


def greedy_decode(
    model, src: torch.Tensor, src_lengths: torch.Tensor, max_len: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Pick the most likely token at every step: ``(tokens, weights)`` as described above."""
    _check_max_len(max_len)
    with eval_mode(model):
        memory, state = model.encode(src, src_lengths)
        batch = src.shape[0]
        tokens = torch.full((batch,), SOS, dtype=torch.long, device=src.device)
        done = torch.zeros(batch, dtype=torch.bool, device=src.device)
        out_tokens, out_weights = [], []
        for _ in range(max_len):
            logits, state, weights = model.step(tokens, state, memory)
            tokens = _log_probs(logits).argmax(dim=-1).masked_fill(done, PAD)  # (batch,)
            out_tokens.append(tokens)
            if weights is not None:
                out_weights.append(weights.masked_fill(done[:, None], 0.0))
            done = done | (tokens == EOS)
            if bool(done.all()):
                break
    weights = torch.stack(out_weights, dim=1) if out_weights else None
    return torch.stack(out_tokens, dim=1), weights


def beam_search(
    model,
    src: torch.Tensor,
    src_lengths: torch.Tensor,
    beam_size: int,
    max_len: int,
    length_penalty: float = 1.0,
    return_scores: bool = False,
):
    """Keep the ``beam_size`` best partial outputs per sentence; return the best finished one.

    At each step the ``beam_size`` best extensions (by summed log-probability) of all live
    hypotheses are kept; those ending with EOS, and all of them at ``max_len``, are finished and
    compared by ``sum log p / length ** length_penalty`` (length counts EOS; 0 = no
    normalisation). The search stops early only when no live hypothesis can still beat the best
    finished one, so a beam wide enough to hold every partial output is exhaustive search, and
    ``beam_size=1`` is greedy decoding. Returns ``(tokens, weights)`` (plus ``scores (batch,)``,
    the normalised scores, with ``return_scores``).
    """
    _check_max_len(max_len)
    if not isinstance(beam_size, int) or isinstance(beam_size, bool) or beam_size < 1:
        raise ValueError(f"beam_size must be a positive int, got {beam_size!r}")
    k, alpha = beam_size, float(length_penalty)
    with eval_mode(model):
        memory, state = model.encode(src, src_lengths)
        batch, src_len, device = src.shape[0], src.shape[1], src.device
        # Every sentence gets k rows: sentence b's hypotheses are rows b*k .. b*k+k-1.
        memory = {name: t.repeat_interleave(k, dim=0) for name, t in memory.items()}
        state = tuple(t.repeat_interleave(k, dim=0) for t in state)
        scores = torch.full((batch, k), float("-inf"), device=device)
        scores[:, 0] = 0.0  # one live hypothesis (the empty one) to start from
        tokens = torch.full((batch * k,), SOS, dtype=torch.long, device=device)
        seqs = torch.empty(batch, k, 0, dtype=torch.long, device=device)
        attn = torch.empty(batch, k, 0, src_len, device=device)
        best = torch.full((batch,), float("-inf"), device=device)
        best_seq = torch.full((batch, max_len), PAD, dtype=torch.long, device=device)
        best_attn = torch.zeros(batch, max_len, src_len, device=device)
        rows = torch.arange(batch, device=device)
        for t in range(1, max_len + 1):
            logits, state, weights = model.step(tokens, state, memory)
            vocab = logits.shape[-1]
            cand = scores[:, :, None] + _log_probs(logits).view(batch, k, vocab)  # (batch, k, V)
            top, index = cand.view(batch, k * vocab).topk(k, dim=1)  # (batch, k)
            origin, tok = index // vocab, index % vocab  # which hypothesis, which token
            seqs = torch.cat([seqs[rows[:, None], origin], tok[:, :, None]], dim=2)
            if weights is not None:
                weights = weights.view(batch, k, 1, src_len)[rows[:, None], origin]
                attn = torch.cat([attn[rows[:, None], origin], weights], dim=2)
            ends = (tok == EOS) | (t == max_len)
            finished = (top / t**alpha).masked_fill(~ends | (top == float("-inf")), float("-inf"))
            value, pick = finished.max(dim=1)  # best hypothesis finishing now, per sentence
            better = value > best
            best = torch.where(better, value, best)
            best_seq[better, :t] = seqs[rows, pick][better]
            best_seq[better, t:] = PAD
            best_attn[better, :t] = attn[rows, pick][better] if weights is not None else 0.0
            best_attn[better, t:] = 0.0
            scores = top.masked_fill(ends, float("-inf"))
            # A live hypothesis's normalised score can at most reach its raw score divided by
            # the largest length factor still possible (raw scores only go down).
            live = scores.max(dim=1).values
            bound = torch.maximum(live / (t + 1) ** alpha, live / max(max_len, t + 1) ** alpha)
            if t == max_len or bool((best >= bound).all()):
                break
            flat = (rows[:, None] * k + origin).view(-1)
            state = tuple(s.index_select(0, flat) for s in state)
            tokens = tok.view(-1)
    lengths = (best_seq != PAD).sum(dim=1)
    out_len = max(int(lengths.max()), 1)
    result = (best_seq[:, :out_len], best_attn[:, :out_len] if model.has_attention else None)
    return (*result, best) if return_scores else result


def translate(
    model,
    sources: Sequence[Sequence[str]],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    max_len: int = 50,
    beam_size: int = 1,
    batch_size: int = 256,
    length_penalty: float = 1.0,
) -> tuple[list[list[str]], list[torch.Tensor | None]]:
    """Decode token sequences to tokens: ``(outputs, weights)``, one ``(out_len, src_len)`` each.

    Sources are encoded as in training (no EOS appended); the returned weights are trimmed to the
    output tokens (EOS included) and the real source length.
    """
    outputs, all_weights = [], []
    sources = [list(s) for s in sources]
    for start in range(0, len(sources), batch_size):
        chunk = sources[start : start + batch_size]
        src, src_lengths = encode_sources(chunk, src_vocab)
        if beam_size == 1:
            tokens, weights = greedy_decode(model, src, src_lengths, max_len)
        else:
            tokens, weights = beam_search(
                model, src, src_lengths, beam_size, max_len, length_penalty
            )
        for row in range(len(chunk)):
            ids = tokens[row].tolist()
            n_out = ids.index(EOS) + 1 if EOS in ids else len(ids) - ids.count(PAD)
            outputs.append(tgt_vocab.decode(ids[:n_out]))
            src_len = int(src_lengths[row])
            all_weights.append(None if weights is None else weights[row, :n_out, :src_len])
    return outputs, all_weights
