"""Forecasts of the commerce channels' monthly net revenue (pure functions, no Dagster, no warehouse).

``forecasting.commerce`` fits the model on the daily history before a forecast month and returns the
monthly forecasts with an 80% interval; ``forecasting.backtest`` runs it over a range of forecast months
next to the seasonal-naive and trailing-3-month baselines and scores them (WAPE, bias, coverage).
"""

from forecasting.commerce import (
    COMMERCE_CHANNELS,
    HORIZONS,
    MIN_HISTORY_MONTHS,
    MODEL_NAME,
    MonthForecast,
    NotEnoughHistory,
    Skipped,
    forecast_month,
    forecast_months,
)

__all__ = [
    "COMMERCE_CHANNELS",
    "HORIZONS",
    "MIN_HISTORY_MONTHS",
    "MODEL_NAME",
    "MonthForecast",
    "NotEnoughHistory",
    "Skipped",
    "forecast_month",
    "forecast_months",
]
