"""v2 runs (being written)."""

from fastapi import APIRouter

router = APIRouter()
