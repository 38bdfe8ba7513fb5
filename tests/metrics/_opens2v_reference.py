# ruff: noqa
# Vendored for parity tests only, unchanged, from PKU-YuanGroup/OpenS2V-Nexus at commit
# 210eb088ceb9bd34c79dfdf8c85c95c8f258f1cb (read via its mirror franciszzj/OpenS2V-Nexus):
#   eval/get_aesscore.py           L16-82   sample_video_frames, run_aesthetic_laion, MLP, AestheticScorer
#   eval/get_motion_amplitude.py   L29-62   compute_farneback_optical_flow
#   eval/get_motion_amplitude.py   L102-116 _downscale_maps, _motion_score
#   eval/merge_result.py           L71-205  process_scores
# (get_motion_amplitude.py L11-26 holds the same sample_video_frames with default num_frames=None;
# its process_video, L118-128, calls it with num_frames=None, so the copy above serves both.)
# Only the imports below and this header are added.
#
# Copyright PKU-YuanGroup, the OpenS2V-Nexus authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

import cv2
import decord
import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from transformers import (
    CLIPProcessor,
    CLIPVisionModelWithProjection,
)


def sample_video_frames(video_path, num_frames=16):
    vr = decord.VideoReader(video_path)
    total_frames = len(vr)

    if num_frames is None:
        frame_indices = np.arange(total_frames)
    else:
        frame_indices = np.linspace(0, total_frames - 1, num_frames, dtype=int)

    frames = []
    for idx in frame_indices:
        frame = vr[int(idx)].asnumpy()
        pil_image = Image.fromarray(frame)
        frames.append(pil_image)

    return frames


@torch.no_grad
def run_aesthetic_laion(model, image):
    if not isinstance(image, list):
        image = [image]
    return model(image)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(768, 1024),
            nn.Dropout(0.2),
            nn.Linear(1024, 128),
            nn.Dropout(0.2),
            nn.Linear(128, 64),
            nn.Dropout(0.1),
            nn.Linear(64, 16),
            nn.Linear(16, 1),
        )

    @torch.no_grad()
    def forward(self, embed):
        return self.layers(embed)


class AestheticScorer(torch.nn.Module):
    def __init__(self, dtype, aes_clip_path, aes_main_path):
        super().__init__()
        self.clip = CLIPVisionModelWithProjection.from_pretrained(aes_clip_path)
        self.processor = CLIPProcessor.from_pretrained(aes_clip_path)

        self.mlp = MLP()
        state_dict = torch.load(
            aes_main_path, weights_only=True, map_location=torch.device("cpu")
        )
        self.mlp.load_state_dict(state_dict)
        self.dtype = dtype
        self.eval()

    @torch.no_grad()
    def __call__(self, images):
        device = next(self.parameters()).device
        inputs = self.processor(images=images, return_tensors="pt")
        inputs = {k: v.to(self.dtype).to(device) for k, v in inputs.items()}
        embed = self.clip(**inputs)[0]
        # normalize embedding
        embed = embed / torch.linalg.vector_norm(embed, dim=-1, keepdim=True)
        return self.mlp(embed).squeeze(1)


def compute_farneback_optical_flow(frames):
    prev_gray = cv2.cvtColor(np.array(frames[0]), cv2.COLOR_BGR2GRAY)
    flow_maps = []
    magnitudes = []
    angles = []
    images = []
    hsv = np.zeros_like(frames[0])
    hsv[..., 1] = 255

    for frame in frames[1:]:
        gray = cv2.cvtColor(np.array(frame), cv2.COLOR_BGR2GRAY)
        flow_map = cv2.calcOpticalFlowFarneback(
            prev_gray,
            gray,
            flow=None,
            pyr_scale=0.5,
            levels=3,
            winsize=15,
            iterations=3,
            poly_n=5,
            poly_sigma=1.2,
            flags=0,
        )
        magnitude, angle = cv2.cartToPolar(flow_map[..., 0], flow_map[..., 1])
        hsv[..., 0] = angle * 180 / np.pi / 2
        hsv[..., 2] = cv2.normalize(magnitude, None, 0, 255, cv2.NORM_MINMAX)
        bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        flow_maps.append(flow_map)
        magnitudes.append(magnitude)
        angles.append(angle)
        images.append(bgr)
        prev_gray = gray
    return flow_maps, magnitudes, angles, images



def _downscale_maps(flow_maps, downscale_size: int = 16):
    return [
        cv2.resize(
            flow,
            (downscale_size, int(flow.shape[0] * (downscale_size / flow.shape[1]))),
            interpolation=cv2.INTER_AREA,
        )
        for flow in flow_maps
    ]


def _motion_score(flow_maps):
    average_flow_map = np.mean(np.array(flow_maps), axis=0)
    return np.mean(average_flow_map)



def process_scores(data, eval_type):
    total_aes_score = total_facesim_cur = total_gme_score = total_motion_amplitude = (
        total_motion_smoothness
    ) = total_nexus_score = total_natural_score = 0
    count_aes_score = count_facesim_cur = count_gme_score = count_motion_amplitude = (
        count_motion_smoothness
    ) = count_nexus_score = count_natural_score = 0

    min_aes_score = 4
    max_aes_score = 7
    min_motion_amplitude = 0
    max_motion_amplitude = 1
    min_motion_smoothness = 0
    max_motion_smoothness = 1
    min_facesim_cur = 0
    max_facesim_cur = 1
    min_gme_score = 0
    max_gme_score = 1
    min_nexus_score = 0
    max_nexus_score = 0.05
    min_natural_score = 1
    max_natural_score = 5

    for key, value in data.items():
        if "aes_score" in value:
            aes_score = max(min(value["aes_score"], max_aes_score), min_aes_score)
            total_aes_score += aes_score
            count_aes_score += 1

        if "motion_amplitude" in value:
            motion_amplitude = min(abs(value["motion_amplitude"]), max_motion_amplitude)
            total_motion_amplitude += motion_amplitude
            count_motion_amplitude += 1

        if "motion_smoothness" in value:
            motion_smoothness = min(
                abs(value["motion_smoothness"]), max_motion_smoothness
            )
            total_motion_smoothness += motion_smoothness
            count_motion_smoothness += 1

        if "facesim_cur" in value:
            facesim_cur = min(value["facesim_cur"], max_facesim_cur)
            total_facesim_cur += facesim_cur
            count_facesim_cur += 1

        if "gme_score" in value:
            gme_score = min(value["gme_score"], max_gme_score)
            total_gme_score += gme_score
            count_gme_score += 1

        if "nexus_score" in value and value["nexus_score"] != 0:
            nexus_score = min(value["nexus_score"], max_nexus_score)
            total_nexus_score += nexus_score
            count_nexus_score += 1

        if "natural_score" in value:
            natural_score = max(
                min(value["natural_score"], max_natural_score), min_natural_score
            )
            total_natural_score += natural_score
            count_natural_score += 1

    avg_aes_score = total_aes_score / count_aes_score if count_aes_score else 0
    avg_motion_amplitude = (
        total_motion_amplitude / count_motion_amplitude if count_motion_amplitude else 0
    )
    avg_motion_smoothness = (
        total_motion_smoothness / count_motion_smoothness
        if count_motion_smoothness
        else 0
    )
    avg_facesim_cur = total_facesim_cur / count_facesim_cur if count_facesim_cur else 0
    avg_gme_score = total_gme_score / count_gme_score if count_gme_score else 0
    avg_nexus_score = total_nexus_score / count_nexus_score if count_nexus_score else 0
    avg_natural_score = (
        total_natural_score / count_natural_score if count_natural_score else 0
    )

    aes_score = (avg_aes_score - min_aes_score) / (max_aes_score - min_aes_score)
    motion_amplitude = (avg_motion_amplitude - min_motion_amplitude) / (
        max_motion_amplitude - min_motion_amplitude
    )
    motion_smoothness = (avg_motion_smoothness - min_motion_smoothness) / (
        max_motion_smoothness - min_motion_smoothness
    )
    facesim_cur = (avg_facesim_cur - min_facesim_cur) / (
        max_facesim_cur - min_facesim_cur
    )
    gme_score = (avg_gme_score - min_gme_score) / (max_gme_score - min_gme_score)
    nexus_score = (avg_nexus_score - min_nexus_score) / (
        max_nexus_score - min_nexus_score
    )
    natural_score = (avg_natural_score - min_natural_score) / (
        max_natural_score - min_natural_score
    )

    if eval_type != "Human-Domain":
        total_score = (
            0.16 * aes_score
            + 0.06 * motion_smoothness
            + 0.02 * motion_amplitude
            + 0.20 * facesim_cur
            + 0.12 * gme_score
            + 0.20 * nexus_score
            + 0.24 * natural_score
        )
        return {
            "total_score": total_score,
            "aes_score": aes_score,
            "motion_smoothness": motion_smoothness,
            "motion_amplitude": motion_amplitude,
            "facesim_cur": facesim_cur,
            "gme_score": gme_score,
            "nexus_score": nexus_score,
            "natural_score": natural_score,
        }
    else:
        total_score = (
            0.18 * aes_score
            + 0.09 * motion_smoothness
            + 0.03 * motion_amplitude
            + 0.25 * facesim_cur
            + 0.15 * gme_score
            + 0.30 * natural_score
        )
        return {
            "total_score": total_score,
            "aes_score": aes_score,
            "motion_smoothness": motion_smoothness,
            "motion_amplitude": motion_amplitude,
            "facesim_cur": facesim_cur,
            "gme_score": gme_score,
            "natural_score": natural_score,
        }
