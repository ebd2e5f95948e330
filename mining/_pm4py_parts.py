"""The pm4py internals that model candidates and the prefix replay use (imported by `load()`).

Only `mining.pm4py_api` imports this module, inside `load()`, so that importing the project
never imports pm4py.
"""

from typing import Any

from pm4py.algo.conformance.tokenreplay.variants import token_replay as replay_steps
from pm4py.algo.discovery.inductive import algorithm as inductive
from pm4py.algo.discovery.inductive.dtypes.im_ds import IMDataStructureUVCL
from pm4py.algo.discovery.inductive.variants.im import IMUVCL
from pm4py.algo.discovery.inductive.variants.imf import IMFUVCL
from pm4py.objects.conversion.process_tree import converter as tree_converter
from pm4py.objects.dfg.obj import DFG
from pm4py.objects.petri_net import semantics
from pm4py.objects.petri_net.exporter.variants import pnml as pnml_exporter
from pm4py.objects.petri_net.importer.variants import pnml as pnml_importer
from pm4py.objects.petri_net.utils.petri_utils import get_places_shortest_path_by_hidden
from pm4py.objects.process_tree.utils.generic import fold, tree_sort


def _tree_to_petri(tree: Any) -> tuple[Any, Any, Any]:
    return tree_converter.apply(tree)


def _pnml_string(net: Any, im: Any, fm: Any) -> str:
    return pnml_exporter.export_petri_as_string(net, im, fm).decode("utf-8")


def _pnml_from_string(text: str) -> tuple[Any, Any, Any]:
    return pnml_importer.import_net_from_string(text.encode("utf-8"))


def namespace() -> dict[str, Any]:
    """The names `mining.pm4py_api.load()` adds to its namespace."""
    return {
        "replay_steps": replay_steps,
        "semantics": semantics,
        "shortest_paths_by_hidden": get_places_shortest_path_by_hidden,
        "inductive": inductive,
        "IMUVCL": IMUVCL,
        "IMFUVCL": IMFUVCL,
        "IMDataStructureUVCL": IMDataStructureUVCL,
        "DFG": DFG,
        "fold_tree": fold,
        "sort_tree": tree_sort,
        "tree_to_petri": _tree_to_petri,
        "pnml_string": _pnml_string,
        "pnml_from_string": _pnml_from_string,
    }
