"""v2 maintenance (being written)."""

from fastapi import APIRouter

router = APIRouter()
