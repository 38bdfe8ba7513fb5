"""PickScore v1: a Hugging Face ``CLIPModel`` (ViT-H/14) with the LAION ViT-H-14 processor.

JointTuner loads ``AutoModel.from_pretrained("yuvalkirstain/PickScore_v1")`` and
``AutoProcessor.from_pretrained("laion/CLIP-ViT-H-14-laion2B-s32B-b79K")`` and ran in fp32.
Two things changed in transformers 5 and are pinned down here:

* ``AutoProcessor`` now picks the torchvision ("fast") image processor, whose resize differs from
  PIL's by up to 0.015 per normalised pixel. The anchor ran the PIL processor (PIL bicubic on the
  short side, centre crop: openai-clip's transform, whose values it gave to the bit where measured;
  tested within 1e-6, as it rescales and normalises in numpy where openai-clip uses torch), so
  jtbench loads the PIL one explicitly.
* ``get_image_features`` / ``get_text_features`` return a ``BaseModelOutputWithPooling`` whose
  ``pooler_output`` holds the projected embedding; :func:`projected` accepts both forms.

When the processor folder has no tokenizer files, the CLIP BPE tokenizer is rebuilt offline from
openai-clip's bundled vocabulary (ids identical to ``clip.tokenize``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from jtbench.errors import WeightsError
from jtbench.models.base import BACKBONES, Backbone
from jtbench.paths import cache_dir
from jtbench.weights.catalog import WeightSpec, register_weights

PICKSCORE_V1 = register_weights(
    WeightSpec(
        id="pickscore-v1",
        filename="PickScore_v1",
        hf_repo="yuvalkirstain/PickScore_v1",
        licence="not stated on the model card (fine-tuned from laion/CLIP-ViT-H-14-laion2B-s32B-b79K, MIT)",
        used_by=("pick_score",),
        is_dir=True,
    )
)
LAION_CLIP_VIT_H_14_PROCESSOR = register_weights(
    WeightSpec(
        id="laion-clip-vit-h-14-processor",
        filename="CLIP-ViT-H-14-laion2B-s32B-b79K",
        hf_repo="laion/CLIP-ViT-H-14-laion2B-s32B-b79K",
        licence="MIT",
        used_by=("pick_score",),
        is_dir=True,
    )
)

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
_TOKENIZER_FILES = ("tokenizer.json", "vocab.json")

#: Tiny stand-in for the ViT-H/14: same family, activations and pooling rule (``eos_token_id=2`` as
#: in the laion config selects transformers' legacy argmax-of-ids pooling, i.e. the EOT token).
TINY_TEXT = {
    "hidden_size": 32,
    "intermediate_size": 37,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "max_position_embeddings": 77,
    "vocab_size": 49408,
    "hidden_act": "gelu",
    "projection_dim": 32,
    "bos_token_id": 0,
    "pad_token_id": 1,
    "eos_token_id": 2,
}
TINY_VISION = {
    "hidden_size": 32,
    "intermediate_size": 37,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "patch_size": 14,
    "image_size": 224,
    "hidden_act": "gelu",
    "projection_dim": 32,
}


def projected(output: Any) -> torch.Tensor:
    """The projected embedding from ``get_*_features`` (a tensor before transformers 5, an output after)."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


def pil_image_processor_class() -> type:
    try:
        from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    except ImportError:  # transformers 4.x: the default CLIP processor is the PIL one
        from transformers import CLIPImageProcessor as CLIPImageProcessorPil
    return CLIPImageProcessorPil


def save_clip_processor_files(folder: Path) -> None:
    """The released CLIP preprocessing (PIL, 224 bicubic resize and centre crop, CLIP mean/std) and the
    offline BPE tokenizer, saved into ``folder`` as a Hub CLIP folder holds them (tiny test builds)."""
    pil_image_processor_class()(
        size={"shortest_edge": 224},
        crop_size={"height": 224, "width": 224},
        resample=3,  # PIL bicubic
        image_mean=list(CLIP_MEAN),
        image_std=list(CLIP_STD),
    ).save_pretrained(folder)  # preprocessor_config.json
    offline_clip_tokenizer(folder).save_pretrained(folder)


def write_clip_bpe_tokenizer_files(out_dir: Path) -> tuple[Path, Path]:
    """``vocab.json`` + ``merges.txt`` from openai-clip's bundled BPE (49,408 tokens, 48,894 merges)."""
    from clip.simple_tokenizer import SimpleTokenizer

    bpe = SimpleTokenizer()
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab, merges = out_dir / "vocab.json", out_dir / "merges.txt"
    vocab.write_text(json.dumps(bpe.encoder, ensure_ascii=False), encoding="utf-8")
    ranked = sorted(bpe.bpe_ranks, key=bpe.bpe_ranks.__getitem__)
    merges.write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in ranked), encoding="utf-8")
    return vocab, merges


def offline_clip_tokenizer(folder: Path | None = None) -> Any:
    """A ``CLIPTokenizer`` (77 tokens) built from the bundled BPE, written once into ``folder``."""
    from transformers import CLIPTokenizer

    folder = folder or cache_dir() / "tokenizers" / "openai-clip-bpe"
    vocab, merges = folder / "vocab.json", folder / "merges.txt"
    if not (vocab.is_file() and merges.is_file()):
        vocab, merges = write_clip_bpe_tokenizer_files(folder)
    return CLIPTokenizer(str(vocab), str(merges), model_max_length=77)


def load_clip_tokenizer(folder: Path) -> Any:
    """The folder's own tokenizer, or the offline BPE one when the folder ships none."""
    from transformers import CLIPTokenizer

    if any((folder / name).is_file() for name in _TOKENIZER_FILES):
        return CLIPTokenizer.from_pretrained(folder)
    return offline_clip_tokenizer()


@dataclass
class PickScoreModel:
    """The loaded PickScore model with its (PIL) image processor and tokenizer."""

    model: Any  # transformers.CLIPModel, eval mode
    image_processor: Any
    tokenizer: Any
    device: torch.device
    dtype: torch.dtype

    @property
    def logit_scale(self) -> torch.Tensor:
        return self.model.logit_scale.detach().exp().float().cpu()

    @torch.inference_mode()
    def image_features(self, images: Sequence[Any]) -> torch.Tensor:
        """Projected, un-normalised embeddings of PIL images (processor → ``get_image_features``)."""
        pixels = self.image_processor(images=list(images), return_tensors="pt")["pixel_values"]
        return projected(self.model.get_image_features(pixel_values=pixels.to(self.device, self.dtype)))

    @torch.inference_mode()
    def text_features(self, texts: Sequence[str]) -> torch.Tensor:
        """Projected embeddings of ``texts`` tokenised as JT does (pad, truncate to 77)."""
        tokens = self.tokenizer(list(texts), padding=True, truncation=True, max_length=77, return_tensors="pt")
        tokens = {k: v.to(self.device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")}
        return projected(self.model.get_text_features(**tokens))


@BACKBONES.register("pickscore")
class PickScoreV1(Backbone):
    """PickScore_v1 + the laion ViT-H-14 processor; fp32 in the anchor (no fp16 on CUDA)."""

    name = "pickscore"
    weights = (PICKSCORE_V1, LAION_CLIP_VIT_H_14_PROCESSOR)

    def load(self, files: dict[str, Path], device: torch.device, dtype: torch.dtype) -> PickScoreModel:
        from transformers import CLIPModel

        model_dir, processor_dir = files[PICKSCORE_V1.id], files[LAION_CLIP_VIT_H_14_PROCESSOR.id]
        try:
            model = CLIPModel.from_pretrained(model_dir)
        except (OSError, ValueError, KeyError) as exc:
            raise WeightsError(
                f"not a Hugging Face CLIPModel folder: {exc}",
                file=model_dir,
                fix=f"download {PICKSCORE_V1.hf_repo} (config.json + model.safetensors) into it",
            ) from exc
        try:
            image_processor = pil_image_processor_class().from_pretrained(processor_dir)
        except (OSError, ValueError, KeyError) as exc:
            raise WeightsError(
                f"no CLIP image processor config here: {exc}",
                file=processor_dir,
                fix=f"download {LAION_CLIP_VIT_H_14_PROCESSOR.hf_repo}'s preprocessor_config.json into it",
            ) from exc
        model = model.to(device=device, dtype=dtype).eval()
        return PickScoreModel(model, image_processor, load_clip_tokenizer(processor_dir), torch.device(device), dtype)

    def build_tiny(self, out_dir: Path, seed: int) -> dict[str, Path]:
        from transformers import CLIPConfig, CLIPModel

        torch.manual_seed(seed)
        config = CLIPConfig(text_config=TINY_TEXT, vision_config=TINY_VISION, projection_dim=32)
        model_dir = out_dir / PICKSCORE_V1.filename
        CLIPModel(config).eval().save_pretrained(model_dir)

        processor_dir = out_dir / LAION_CLIP_VIT_H_14_PROCESSOR.filename
        save_clip_processor_files(processor_dir)  # as in the laion repo
        return {PICKSCORE_V1.id: model_dir, LAION_CLIP_VIT_H_14_PROCESSOR.id: processor_dir}
