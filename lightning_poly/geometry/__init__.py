"""Geometry of ReLU networks (framework-free core: no Lightning import)."""

from lightning_poly.geometry.activation_drift import ActivationDrift, activation_drift, network_patterns
from lightning_poly.geometry.bounds import (
    applicable_mean_faces_bound,
    mean_faces_bound_one_layer,
    mean_faces_bound_planar,
    mean_faces_bound_zero_bias,
    simplices_lower_bound,
    simplices_lower_bound_one_layer,
    simplices_upper_bound,
    simplices_upper_bound_one_layer,
)
from lightning_poly.geometry.cross_section import CrossSection, SectionCount, cross_section
from lightning_poly.geometry.facets import FacetCounts, FacetMethod, clean_rows, count_facets, interior_points
from lightning_poly.geometry.histogram import FaceHistogram, FaceMethod, count_region_faces, face_histogram
from lightning_poly.geometry.hit_and_run import RayEstimate, certify_facets, hit_and_run_facets
from lightning_poly.geometry.multiclass_cover import (
    complement,
    multiclass_architecture,
    multiclass_counts,
    multiclass_predict,
)
from lightning_poly.geometry.polytope_cover import PolytopeBasisCover
from lightning_poly.geometry.pwl_regions import PWLRegions, pwl_activation_patterns, pwl_enumerate_regions, pwl_regions
from lightning_poly.geometry.regions import Regions, activation_patterns, enumerate_regions, region_hrep, sample_box
from lightning_poly.geometry.simplex_facets import SimplexFacets, first_vertices, simplex_facets
from lightning_poly.geometry.triangulation import RegionSimplices, pulling_triangulation, region_simplices
from lightning_poly.geometry.zonotope import (
    Flip,
    GeneralPosition,
    activation_pattern,
    cone_margin,
    facet_rows,
    flip_margins,
    general_position,
    is_vertex,
    random_vertex,
    unit_flips,
    unit_vertices,
    vertex_neighbors,
    zonotope_vertex_count,
)

__all__ = [
    "ActivationDrift",
    "activation_drift",
    "network_patterns",
    "CrossSection",
    "FaceHistogram",
    "FaceMethod",
    "FacetCounts",
    "FacetMethod",
    "PWLRegions",
    "PolytopeBasisCover",
    "RayEstimate",
    "complement",
    "multiclass_architecture",
    "multiclass_counts",
    "multiclass_predict",
    "Regions",
    "SimplexFacets",
    "activation_patterns",
    "applicable_mean_faces_bound",
    "certify_facets",
    "clean_rows",
    "count_facets",
    "count_region_faces",
    "cross_section",
    "enumerate_regions",
    "face_histogram",
    "first_vertices",
    "hit_and_run_facets",
    "interior_points",
    "pwl_activation_patterns",
    "pwl_enumerate_regions",
    "pwl_regions",
    "region_hrep",
    "RegionSimplices",
    "pulling_triangulation",
    "region_simplices",
    "sample_box",
    "SectionCount",
    "simplex_facets",
    "simplices_upper_bound",
    "simplices_lower_bound",
    "simplices_upper_bound_one_layer",
    "simplices_lower_bound_one_layer",
    "mean_faces_bound_one_layer",
    "mean_faces_bound_planar",
    "mean_faces_bound_zero_bias",
    "Flip",
    "GeneralPosition",
    "activation_pattern",
    "cone_margin",
    "facet_rows",
    "flip_margins",
    "general_position",
    "is_vertex",
    "random_vertex",
    "unit_flips",
    "unit_vertices",
    "vertex_neighbors",
    "zonotope_vertex_count",
]
