// FLOTILLA_TRY_ASSIGN(lhs, expr): assigns the value of a Result<T> or returns
// its Status from the enclosing function. Internal to reward_model/: the
// readers check dozens of fields each and would otherwise repeat the same
// three lines for every one.
#pragma once

#include <utility>

#define FLOTILLA_TRY_ASSIGN(lhs, expr) \
  do {                                 \
    auto r_ = (expr);                  \
    if (!r_) return r_.status();       \
    lhs = std::move(r_).value();       \
  } while (false)
