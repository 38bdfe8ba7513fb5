"""All-pairs correlation for RAFT and AMT without the memory of the full volume where it does not fit.

Both networks compare every 1/8-resolution pixel of one frame with every pixel of the other: a
``(h·w)²`` volume (4.2 GB per 1080p pair, plus 1/3 more for its pooled pyramid; AMT keeps it in
both directions), from which each update only *reads* a ``(2r+1)²`` window per pixel and level.
Two ways to get the same numbers:

- :func:`build_volume_pyramid` — the official computation (torchvision's
  ``CorrBlock.build_pyramid``) with the volume scaled in place instead of into a second copy:
  bit-identical values, peak = the pyramid, not pyramid + volume.
- :class:`LocalCorrelation` — the window is computed when it is read. Pooling the volume over the
  target frame's pixels equals correlating with the pooled target *features*, and bilinear sampling
  commutes with the dot product, so level ``k`` at a point is ``<query, bilinear(pool_k(target),
  point)> / √C``: the same value up to float rounding (≈1e-5 relative; tested), in memory linear in
  the pixels. Each lookup costs a gather of the ``(2r+2)²`` integer neighbours per pixel, so it is
  slower than indexing a stored volume when many lookups are made (RAFT: 20 per pair).

Conventions follow the originals exactly: window offsets ``linspace(-r, r, 2r+1)``, the first window
axis moving *x* (RAFT's and AMT's ``meshgrid(..., indexing='ij')`` then ``(x, y)`` order), level
``k`` centred at ``coords / 2^k``, zero outside the frame (``grid_sample``'s zero padding with
``align_corners=True``), channels = levels × window, row-major.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Bytes of gathered neighbour features per chunk of query pixels (bounds the lookup's working memory).
CHUNK_BYTES = 64 * 1024**2


def feature_pyramid(features: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """``[B, C, h, w]`` and its 2x2 average pools (``levels`` maps): pooling the volume's target axes."""
    pyramid = [features]
    for _ in range(levels - 1):
        pyramid.append(F.avg_pool2d(pyramid[-1], kernel_size=2, stride=2))
    return pyramid


@torch.no_grad()
def build_volume_pyramid(corr_block: torch.nn.Module, fmap1: torch.Tensor, fmap2: torch.Tensor) -> None:
    """torchvision's ``CorrBlock.build_pyramid`` without its second full-size copy (same bits).

    torchvision returns ``corr / sqrt(C)`` from ``_compute_corr_volume``, so the unscaled and the
    scaled volume coexist for a moment; here the matmul result is scaled in place.
    """
    batch, channels, h, w = fmap1.shape
    corr = torch.matmul(fmap1.view(batch, channels, h * w).transpose(1, 2), fmap2.view(batch, channels, h * w))
    corr.div_(torch.sqrt(torch.tensor(channels)))
    corr_block.corr_pyramid = feature_pyramid(corr.view(batch * h * w, 1, h, w), corr_block.num_levels)


class LocalCorrelation:
    """Windows of the correlation pyramid of ``query`` against ``target``, computed on demand.

    ``query``/``target``: ``[B, C, h, w]`` features of the same shape; ``scale`` divides the dot
    products (``√C`` in both networks). Calling it with absolute level-0 coordinates ``[B, 2, h, w]``
    gives ``[B, levels·(2r+1)², h, w]``, the layout of ``CorrBlock.index_pyramid``.
    """

    def __init__(self, query: torch.Tensor, target: torch.Tensor, *, levels: int, radius: int) -> None:
        self.batch, self.channels, self.height, self.width = query.shape
        self.query = query.permute(0, 2, 3, 1).reshape(-1, self.channels)
        self.radius = radius
        self.scale = torch.sqrt(torch.tensor(float(self.channels)))
        # one row per target pixel (batch-major) plus a zero row that out-of-frame neighbours read
        self.tables: list[tuple[torch.Tensor, int, int]] = []
        for level in feature_pyramid(target, levels):
            h, w = level.shape[-2:]
            rows = level.permute(0, 2, 3, 1).reshape(-1, self.channels)
            self.tables.append((torch.cat([rows, rows.new_zeros(1, self.channels)]), h, w))

    def __call__(self, coords: torch.Tensor) -> torch.Tensor:
        side = 2 * self.radius + 1
        centres = coords.permute(0, 2, 3, 1).reshape(-1, 2).float()
        per_batch = self.height * self.width
        batch_of = torch.arange(centres.shape[0], device=coords.device) // per_batch
        levels = []
        for table, h, w in self.tables:
            levels.append(self._level(table, h, w, centres, batch_of).view(self.batch, self.height, self.width, -1))
            centres = centres / 2
        out = torch.cat(levels, dim=-1).permute(0, 3, 1, 2).contiguous()
        assert out.shape[1] == len(self.tables) * side * side
        return out

    def _level(
        self, table: torch.Tensor, h: int, w: int, centres: torch.Tensor, batch_of: torch.Tensor
    ) -> torch.Tensor:
        side = 2 * self.radius + 1
        corners = side + 1  # integer neighbours a bilinear window of side `side` reads, per axis
        offsets = torch.arange(corners, device=centres.device)
        floor = centres.floor()
        frac = (centres - floor).to(table.dtype)
        first = floor.long() - self.radius
        xs, ys = first[:, 0:1] + offsets, first[:, 1:2] + offsets  # [P, corners]
        inside = ((xs >= 0) & (xs < w))[:, :, None] & ((ys >= 0) & (ys < h))[:, None, :]
        index = batch_of[:, None, None] * (h * w) + ys.clamp(0, h - 1)[:, None, :] * w + xs.clamp(0, w - 1)[:, :, None]
        index = torch.where(inside, index, table.shape[0] - 1)  # [P, x corner, y corner]
        out = torch.empty(centres.shape[0], side, side, dtype=table.dtype, device=table.device)
        chunk = max(1, CHUNK_BYTES // (corners * corners * self.channels * table.element_size()))
        for start in range(0, centres.shape[0], chunk):
            stop = min(start + chunk, centres.shape[0])
            neighbours = table[index[start:stop].reshape(-1)].view(stop - start, corners * corners, self.channels)
            dots = torch.bmm(neighbours, self.query[start:stop, :, None].to(table.dtype))
            dots = (dots / self.scale.to(table.dtype)).view(stop - start, corners, corners)
            fx, fy = frac[start:stop, 0].view(-1, 1, 1), frac[start:stop, 1].view(-1, 1, 1)
            out[start:stop] = (
                (1 - fx) * (1 - fy) * dots[:, :-1, :-1]
                + fx * (1 - fy) * dots[:, 1:, :-1]
                + (1 - fx) * fy * dots[:, :-1, 1:]
                + fx * fy * dots[:, 1:, 1:]
            )
        return out.view(centres.shape[0], side * side)


class PartialVolumePyramid:
    """RAFT's correlation pyramid in about a quarter of its memory: level 0 on demand, the rest stored.

    The pooled levels (1/3 of the pyramid's bytes at most) are built exactly as torchvision builds
    them — matmul, scale, 2x2 pools — but a block of query rows at a time, so the full level-0
    volume never exists; they are read with torchvision's own ``grid_sample`` call. Level 0, the
    big one, is read through :class:`LocalCorrelation`. Most of the lookup time of the
    all-on-demand version goes away (three of four levels are plain indexing again).
    """

    def __init__(self, fmap1: torch.Tensor, fmap2: torch.Tensor, *, levels: int, radius: int) -> None:
        self.radius = radius
        self.level0 = LocalCorrelation(fmap1, fmap2, levels=1, radius=radius)
        batch, channels, h, w = fmap1.shape
        queries = fmap1.view(batch, channels, h * w).transpose(1, 2)
        targets = fmap2.view(batch, channels, h * w)
        scale = torch.sqrt(torch.tensor(channels))
        sizes = [(h, w)]
        for _ in range(levels - 1):
            sizes.append((sizes[-1][0] // 2, sizes[-1][1] // 2))
        self.stored = [fmap1.new_empty(batch * h * w, 1, hk, wk) for hk, wk in sizes[1:]]
        rows = max(1, CHUNK_BYTES // (h * w * fmap1.element_size()))
        for b in range(batch):
            for start in range(0, h * w, rows):
                stop = min(start + rows, h * w)
                block = torch.matmul(queries[b, start:stop], targets[b])
                block.div_(scale)
                block = block.view(stop - start, 1, h, w)
                for stored in self.stored:
                    block = F.avg_pool2d(block, kernel_size=2, stride=2)
                    stored[b * h * w + start : b * h * w + stop] = block

    def __call__(self, coords: torch.Tensor) -> torch.Tensor:
        from torchvision.models.optical_flow._utils import grid_sample

        side = 2 * self.radius + 1
        offsets = torch.linspace(-self.radius, self.radius, side)
        delta = torch.stack(torch.meshgrid(offsets, offsets, indexing="ij"), dim=-1).to(coords.device)
        delta = delta.view(1, side, side, 2)
        batch, _, h, w = coords.shape
        out = [self.level0(coords).permute(0, 2, 3, 1)]
        centroids = coords.permute(0, 2, 3, 1).reshape(batch * h * w, 1, 1, 2)
        for volume in self.stored:
            centroids = centroids / 2
            sampled = grid_sample(volume, centroids + delta, align_corners=True, mode="bilinear")
            out.append(sampled.view(batch, h, w, -1))
        return torch.cat(out, dim=-1).permute(0, 3, 1, 2).contiguous()


class LocalBidirCorrelation:
    """AMT's ``BidirCorrBlock`` (same constructor and call) with windows computed on demand.

    ``corr`` (frame 0's pixels against frame 1, sampled at ``coords0``) and ``corr_T`` (frame 1's
    pixels against frame 0, at ``coords1``); AMT pools ``corr_T`` over frame 0's axes, which is
    correlating with frame 0's pooled features.
    """

    def __init__(self, fmap1: torch.Tensor, fmap2: torch.Tensor, num_levels: int = 4, radius: int = 4) -> None:
        self.forward = LocalCorrelation(fmap1, fmap2, levels=num_levels, radius=radius)
        self.backward = LocalCorrelation(fmap2, fmap1, levels=num_levels, radius=radius)

    def __call__(self, coords0: torch.Tensor, coords1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward(coords0).float(), self.backward(coords1).float()
