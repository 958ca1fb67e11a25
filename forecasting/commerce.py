"""The commerce forecast: each channel's monthly net revenue for the three months from a forecast month F,
from the daily history before F only (docs/architecture.md: Forecasts).

The model has two stages, both fitted with statsmodels on data before F:
1. A daily calendar regression (OLS) of log net revenue on what the calendar says in advance: a log-linear
   trend, the weekday, one yearly harmonic and the retail holiday season (the week before Black Friday,
   Black Friday, its weekend, Cyber Monday, the run-up to Christmas, Christmas, the days after it). Past
   promotions (runs of days well above the calendar) are detected and held out by an indicator, so they pull
   neither trend nor season. Its expected daily revenue, summed over a month's calendar days, is the
   month's calendar expectation.
2. An AR(1) (``AutoReg``) on each complete month's level: the median of its days' log residuals (a good or bad
   month lingers into the next; the median is not moved by a promotion's few days). A constant lift, the
   mean of log(month total ÷ calendar expectation) − level over the history, adds what promotions and day
   noise give a month on average without carrying one month's promotion into the next.
The point forecast of a target month is its calendar expectation × exp(the AR(1) forecast of its level + lift).

The 80% interval is calibrated on rolling-origin errors: the same model fitted at each of the last
``CALIBRATION_ORIGINS`` month starts before F (each on the data before it), its log errors against the
months that were complete before F, per horizon; the interval is point × exp(± t₀.₉ × RMS error). Summing
daily quantiles would be wrong (day errors are not independent: the month shock moves them together).
Origins need ``CALIBRATION_MIN_HISTORY`` months of history (shorter fits err more) unless that leaves fewer
than ``MIN_CALIBRATION_ERRORS`` errors; with too few even then the AR(1)'s own forecast error, inflated, stands in.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd

COMMERCE_CHANNELS = ("shopify", "amazon", "ebay")
HORIZONS = 3  # target months F, F+1, F+2
MIN_HISTORY_MONTHS = 12  # complete months of history a channel needs before F
INTERVAL = 0.80
CALIBRATION_ORIGINS = 12  # rolling origins whose errors calibrate the interval
MIN_CALIBRATION_ERRORS = 4
CALIBRATION_MIN_HISTORY = 18  # months of history a calibration origin needs (shorter fits err more)
FOURIER_TERMS = 1  # yearly harmonics in the daily regression
MODEL_NAME = "calendar_ols+ar1_month"
PROMO_WINDOW = 5  # days of the centred mean that detects a past promotion
PROMO_THRESHOLD = 2.5  # robust sds above the calendar
CENT = Decimal("0.01")
EPOCH = pd.Timestamp("2020-01-01")  # origin of the trend term (any fixed date)
DAILY_COLUMNS = ("date_day", "channel", "net_revenue_usd")


class NotEnoughHistory(ValueError):
    """A channel's history before the forecast month cannot support a forecast (the reason says why)."""


@dataclass(frozen=True)
class MonthForecast:
    """One channel's forecast of one target month, made at the start of ``forecast_month``."""

    forecast_month: date
    target_month: date
    horizon: int  # 1 = the month starting at forecast_month
    channel: str
    model_name: str
    forecast_usd: Decimal
    lower_usd: Decimal  # the 80% interval
    upper_usd: Decimal
    history_end_date: date  # the last day of data the model saw


@dataclass(frozen=True)
class Skipped:
    """A channel × forecast month not forecast, and why."""

    forecast_month: date
    channel: str
    reason: str


# --- input ---------------------------------------------------------------------------------------------


def month_start(day: date | pd.Timestamp | str) -> date:
    value = pd.Timestamp(day).date()
    return value.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def daily_series(daily: pd.DataFrame, channels: Iterable[str] = COMMERCE_CHANNELS) -> dict[str, pd.Series]:
    """Each channel's daily net revenue (float USD, a date index with every day from its first to its last,
    days without a row as 0) from rows shaped like ``marts.channel_revenue_daily``. Bad input is an error:
    a missing column, a null revenue or date, or two rows for one day × channel."""
    missing = [c for c in DAILY_COLUMNS if c not in daily.columns]
    if missing:
        raise ValueError(f"daily revenue lacks column(s) {', '.join(missing)}; expected {', '.join(DAILY_COLUMNS)}")
    frame = daily.loc[:, list(DAILY_COLUMNS)].copy()
    if frame["date_day"].isna().any() or frame["channel"].isna().any():
        raise ValueError(
            f"daily revenue has {int(frame[['date_day', 'channel']].isna().any(axis=1).sum())} row(s) without date or channel"
        )
    if frame["net_revenue_usd"].isna().any():
        bad = frame[frame["net_revenue_usd"].isna()].head(3)
        raise ValueError(f"daily revenue has null net_revenue_usd, e.g. {bad.to_dict('records')}")
    frame["date_day"] = pd.to_datetime(frame["date_day"]).dt.normalize()
    duplicated = frame.duplicated(["date_day", "channel"], keep=False)
    if duplicated.any():
        example = frame[duplicated].head(2).to_dict("records")
        raise ValueError(f"daily revenue has {int(duplicated.sum())} rows sharing a date × channel, e.g. {example}")
    frame["net_revenue_usd"] = frame["net_revenue_usd"].astype("float64")
    out: dict[str, pd.Series] = {}
    for channel in channels:
        rows = frame[frame["channel"] == channel]
        if rows.empty:
            continue
        series = rows.set_index("date_day")["net_revenue_usd"].sort_index()
        full = pd.date_range(series.index[0], series.index[-1], freq="D")
        out[channel] = series.reindex(full, fill_value=0.0)
    return out


# --- calendar ------------------------------------------------------------------------------------------


def black_friday(year: int) -> pd.Timestamp:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return pd.Timestamp(thursday + timedelta(days=22))


def calendar_features(days: pd.DatetimeIndex, fourier_terms: int = FOURIER_TERMS) -> np.ndarray:
    """The regressors of the days, all known in advance: constant, trend (years), weekday (Mon–Sat against
    Sunday), ``fourier_terms`` yearly harmonics and the holiday season's parts."""
    days = pd.DatetimeIndex(days)
    n = len(days)
    columns: list[np.ndarray] = [np.ones(n), ((days - EPOCH).days / 365.25).to_numpy(dtype=float)]
    weekday = days.weekday.to_numpy()
    columns += [(weekday == d).astype(float) for d in range(6)]
    angle = 2 * np.pi * days.dayofyear.to_numpy() / 365.25
    for k in range(1, fourier_terms + 1):
        columns += [np.sin(k * angle), np.cos(k * angle)]
    bf = pd.DatetimeIndex([black_friday(y) for y in days.year])
    offset = (days - bf).days.to_numpy()
    christmas = pd.DatetimeIndex([pd.Timestamp(y, 12, 25) for y in days.year])
    to_christmas = (christmas - days).days.to_numpy()
    run_up = (offset >= 4) & (to_christmas >= 3)  # after Cyber Monday, up to Dec 22
    span = (christmas - bf).days.to_numpy()
    columns += [
        ((offset >= -7) & (offset < 0)).astype(float),  # the week before Black Friday
        (offset == 0).astype(float),  # Black Friday
        ((offset == 1) | (offset == 2)).astype(float),  # its weekend
        (offset == 3).astype(float),  # Cyber Monday
        run_up.astype(float),
        np.where(run_up, offset / span, 0.0),  # the run-up builds towards Christmas
        ((to_christmas >= 0) & (to_christmas <= 2)).astype(float),  # Dec 23–25
        ((days.month == 12) & (to_christmas < 0)).astype(float),  # Dec 26–31
    ]
    return np.column_stack(columns)


# --- the model -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PointForecast:
    """The model fitted at one origin: point forecasts (float USD) of the months origin, +1, +2."""

    origin: date
    values: tuple[float, ...]
    ar_sd: float  # the AR(1)'s innovation sd (log scale)
    ar_phi: float
    history_end_date: date


def history_months(series: pd.Series, origin: date) -> list[date]:
    """The complete months of ``series`` before ``origin``: from the first month that starts on or after
    the first day of data, through the month before origin."""
    first = series.index[0].date()
    start = first if first.day == 1 else add_months(first.replace(day=1), 1)
    months, month = [], start
    while month < origin:
        months.append(month)
        month = add_months(month, 1)
    return months


def feature_frame(first: date | pd.Timestamp, last: date | pd.Timestamp) -> pd.DataFrame:
    """``calendar_features`` of every day from ``first`` to ``last``, indexed by day (computed once, sliced often)."""
    days = pd.date_range(first, last, freq="D")
    return pd.DataFrame(calendar_features(days), index=days)


def calendar_fit(y_log: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stage 1: OLS of log daily revenue on the calendar, with past promotions detected and held out.

    A promotion shows as a run of days well above the calendar: the 5-day centred mean of the first fit's
    residuals above ``PROMO_THRESHOLD`` robust sds (MAD) of that mean. The refit gives those days one
    indicator, so they pull neither the trend nor the season; a future day has no known promotion, and
    what promotions add to a month on average comes back through the lift (``fit_point``). Returns the
    calendar coefficients and the promotion-day mask."""
    from statsmodels.regression.linear_model import OLS

    first = OLS(y_log, x).fit(method="qr")
    smooth = pd.Series(first.resid).rolling(PROMO_WINDOW, center=True, min_periods=1).mean().to_numpy()
    spread = 1.4826 * float(np.median(np.abs(smooth - np.median(smooth))))
    promo = (smooth > PROMO_THRESHOLD * spread) & (first.resid > 0)
    if not promo.any():
        return np.asarray(first.params), promo
    refit = OLS(y_log, np.column_stack([x, promo.astype(float)])).fit(method="qr")
    return np.asarray(refit.params[:-1]), promo


def fit_point(
    series: pd.Series, origin: date, horizons: int = HORIZONS, features: pd.DataFrame | None = None
) -> PointForecast:
    """Fit both stages on the days before ``origin`` and forecast the ``horizons`` months from it (``features``:
    a ``feature_frame`` covering the series and the target months, built here when not given)."""
    from statsmodels.tsa.ar_model import AutoReg

    history = series[series.index < pd.Timestamp(origin)]
    months = history_months(series, origin)
    if len(months) < MIN_HISTORY_MONTHS:
        raise NotEnoughHistory(
            f"{len(months)} complete month(s) of history before {origin}, {MIN_HISTORY_MONTHS} needed"
        )
    last_month = add_months(origin, -1)
    if history.empty or history.index[-1] < pd.Timestamp(last_month):
        raise NotEnoughHistory(f"no data in {last_month:%Y-%m}, the month before {origin:%Y-%m}, yet")
    if history.index[-1] < pd.Timestamp(origin - timedelta(days=1)):
        raise NotEnoughHistory(
            f"data ends {history.index[-1]:%Y-%m-%d}, before the end of {last_month:%Y-%m} (the month is not complete)"
        )
    history = history[history.index >= pd.Timestamp(months[0])]
    positive = history[history > 0]
    if len(positive) < 0.9 * len(history):
        raise NotEnoughHistory(
            f"{len(history) - len(positive)} of {len(history)} days have no positive net revenue: "
            "too sparse for a daily log model"
        )
    if features is None:
        features = feature_frame(series.index[0], add_months(origin, horizons) - timedelta(days=1))
    y_log, x = np.log(positive.to_numpy()), features.loc[positive.index].to_numpy()
    params, promo = calendar_fit(y_log, x)
    residuals = pd.Series(y_log - x @ params, index=positive.index)[~promo]

    def expected(month: date) -> float:
        days = features.loc[pd.Timestamp(month) : pd.Timestamp(add_months(month, 1) - timedelta(days=1))]
        return float(np.exp(days.to_numpy() @ params).sum())

    actual = history.groupby(history.index.to_period("M")).sum()
    level_by_month = residuals.groupby(residuals.index.to_period("M")).median()
    ratios, levels = [], []
    for month in months:
        total = float(actual.get(pd.Period(month, "M"), 0.0))
        if total <= 0:
            raise NotEnoughHistory(f"net revenue of {month:%Y-%m} is {total:.2f}, not positive")
        ratios.append(math.log(total / expected(month)))
        levels.append(float(level_by_month.get(pd.Period(month, "M"), 0.0)))
    # the month's total over its median day: promotions and day noise, which do not persist into the next month
    lift = float(np.mean(np.asarray(ratios) - np.asarray(levels)))
    y = np.asarray(levels)
    ar = AutoReg(y, lags=1, trend="c").fit()
    const, phi = (float(v) for v in ar.params)
    phi = min(max(phi, -0.9), 0.95)  # a short sample can estimate a non-stationary root
    mean = float(np.mean(y)) if phi in (0.95, -0.9) else const / (1 - phi)
    level, values = float(y[-1]), []
    for h in range(horizons):
        level = mean + phi * (level - mean)
        values.append(expected(add_months(origin, h)) * math.exp(level + lift))
    ar_sd = float(np.sqrt(ar.sigma2))
    return PointForecast(
        origin=origin,
        values=tuple(values),
        ar_sd=ar_sd,
        ar_phi=phi,
        history_end_date=history.index[-1].date(),
    )


class Forecaster:
    """Point forecasts of one channel's series by origin, each fitted once (a range of forecast months shares
    its rolling origins)."""

    def __init__(self, series: pd.Series) -> None:
        self.series = series
        self._points: dict[date, PointForecast | NotEnoughHistory] = {}
        self._monthly = series.groupby(series.index.to_period("M")).sum()
        self._features = feature_frame(series.index[0], add_months(month_start(series.index[-1]), HORIZONS + 1))

    def point(self, origin: date) -> PointForecast:
        if origin not in self._points:
            try:
                features = self._features
                if origin > month_start(self.series.index[-1]):  # a forecast month past the data (none of it used)
                    features = None
                self._points[origin] = fit_point(self.series, origin, features=features)
            except NotEnoughHistory as exc:
                self._points[origin] = exc
        result = self._points[origin]
        if isinstance(result, NotEnoughHistory):
            raise result
        return result

    def actual(self, month: date) -> float:
        return float(self._monthly.get(pd.Period(month, "M"), 0.0))

    def errors(self, forecast_month: date, horizon: int) -> list[float]:
        """Log errors (actual ÷ forecast) at ``horizon`` of the last CALIBRATION_ORIGINS origins whose target
        month ended before ``forecast_month``, from origins with CALIBRATION_MIN_HISTORY months of history, or
        when those give fewer than MIN_CALIBRATION_ERRORS, from any origin the model can fit."""
        errors = self._errors(forecast_month, horizon, CALIBRATION_MIN_HISTORY)
        return errors if len(errors) >= MIN_CALIBRATION_ERRORS else self._errors(forecast_month, horizon, 0)

    def _errors(self, forecast_month: date, horizon: int, min_history: int) -> list[float]:
        out: list[float] = []
        origin = add_months(forecast_month, -horizon)  # its target month is the month before forecast_month
        while len(out) < CALIBRATION_ORIGINS:
            if len(history_months(self.series, origin)) < min_history:
                break
            try:
                point = self.point(origin)
            except NotEnoughHistory:
                break
            actual = self.actual(add_months(origin, horizon - 1))
            if actual > 0:
                out.append(math.log(actual / point.values[horizon - 1]))
            origin = add_months(origin, -1)
        return out


def interval_half_width(errors: Sequence[float], point: PointForecast, horizon: int) -> float:
    """The 80% interval's half width on the log scale: t₀.₉ × RMS of the rolling-origin errors, or with too
    few of them the AR(1)'s h-step forecast sd, doubled for the parameters it does not know."""
    from scipy.stats import t

    if len(errors) >= MIN_CALIBRATION_ERRORS:
        rms = math.sqrt(sum(e * e for e in errors) / len(errors))
        return float(t.ppf(0.5 + INTERVAL / 2, df=len(errors))) * rms
    variance = point.ar_sd**2 * sum(point.ar_phi ** (2 * j) for j in range(horizon))
    return float(t.ppf(0.5 + INTERVAL / 2, df=3)) * 2 * math.sqrt(variance)


def usd(value: float) -> Decimal:
    """A non-negative float amount as Decimal USD rounded to the cent."""
    if not math.isfinite(value):
        raise ValueError(f"forecast amount {value} is not finite")
    return Decimal(repr(max(value, 0.0))).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _forecast(forecaster: Forecaster, channel: str, month: date) -> list[MonthForecast]:
    point = forecaster.point(month)
    out = []
    for h in range(1, HORIZONS + 1):
        width = interval_half_width(forecaster.errors(month, h), point, h)
        value = point.values[h - 1]
        out.append(
            MonthForecast(
                forecast_month=month,
                target_month=add_months(month, h - 1),
                horizon=h,
                channel=channel,
                model_name=MODEL_NAME,
                forecast_usd=usd(value),
                lower_usd=usd(value * math.exp(-width)),
                upper_usd=usd(value * math.exp(width)),
                history_end_date=point.history_end_date,
            )
        )
    return out


def forecast_months(
    daily: pd.DataFrame,
    months: Iterable[date | str],
    channels: Iterable[str] = COMMERCE_CHANNELS,
    progress: Callable[[date, list[MonthForecast], list[Skipped], float], None] | None = None,
) -> tuple[list[MonthForecast], list[Skipped]]:
    """Forecasts made at each month start of ``months`` (any day in the month names it), each from the rows
    of ``daily`` dated before it only; channels or months that cannot be forecast come back as ``Skipped``.
    ``progress`` is called after each month with its forecasts, skips and seconds. The months share their
    rolling-origin fits, so a range costs little more than its last month."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # small matrices: BLAS threads only contend (20× slower)
        return _forecast_months(daily, months, tuple(channels), progress)


def _forecast_months(
    daily: pd.DataFrame,
    months: Iterable[date | str],
    channels: tuple[str, ...],
    progress: Callable[[date, list[MonthForecast], list[Skipped], float], None] | None,
) -> tuple[list[MonthForecast], list[Skipped]]:
    targets = sorted({month_start(m) for m in months})
    series = daily_series(daily, channels)
    forecasters = {channel: Forecaster(series[channel]) for channel in channels if channel in series}
    forecasts: list[MonthForecast] = []
    skipped: list[Skipped] = []
    for month in targets:
        started = time.monotonic()
        made: list[MonthForecast] = []
        missed: list[Skipped] = []
        for channel in channels:
            if channel not in forecasters:
                missed.append(Skipped(month, channel, f"no daily revenue rows for channel {channel}"))
                continue
            try:
                made += _forecast(forecasters[channel], channel, month)
            except NotEnoughHistory as exc:
                missed.append(Skipped(month, channel, str(exc)))
        forecasts += made
        skipped += missed
        if progress is not None:
            progress(month, made, missed, time.monotonic() - started)
    return forecasts, skipped


def forecast_month(
    daily: pd.DataFrame, month: date | str, channels: Iterable[str] = COMMERCE_CHANNELS
) -> tuple[list[MonthForecast], list[Skipped]]:
    """The forecasts made at the start of ``month`` (see ``forecast_months``)."""
    return forecast_months(daily, [month], channels)
