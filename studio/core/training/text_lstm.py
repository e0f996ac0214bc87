"""Family "lstm": an LSTM language model (studio/core/nets/lstm.py) on the text cache.

Everything but the network is the GPT family's (:class:`studio.core.training.text_gpt.TextRecipe`): the
same windows, exact-resume sampling, validation, previews and tokenizer file, so the two families'
val_loss numbers compare directly on a dataset. ``block_size`` here is only the training window (how far
back gradients flow, truncated back-propagation through time); generation carries the state on without a
limit, so it is not part of the model's description.
"""

from __future__ import annotations

from torch import nn

from studio.core.jobs import JobError
from studio.core.nets.lstm import LSTMLM, LSTMConfig
from studio.core.training.text_gpt import TextRecipe


class LstmRecipe(TextRecipe):
    family = "lstm"
    model_fields = ("n_embd", "n_hidden", "n_layer", "dropout")

    @classmethod
    def check_settings(cls, config: dict) -> None:
        super().check_settings(config)
        if min(config["n_embd"], config["n_hidden"], config["n_layer"]) < 1:
            raise JobError("n_embd, n_hidden and n_layer must all be at least 1.")

    def net_config(self) -> LSTMConfig:
        return LSTMConfig(**self.model_settings())

    def build_models(self) -> dict[str, nn.Module]:
        return {self.model_name: LSTMLM(self.net_config())}
