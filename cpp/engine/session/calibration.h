// Static INT8 calibration without keeping activations: each FP32 run on calibration data feeds
// every calibration tensor into its quant::RangeObserver (a streaming histogram) as soon as the
// tensor is computed; the ranges come from the observers by one quant::RangeStrategy, the same
// strategies the weight quantizers use.
#pragma once
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "quant/range_observer.h"
#include "session/engine.h"

namespace edgequant::engine {

class Calibrator {
 public:
  // The engine must outlive the calibrator. `strategy.symmetric` is refused: activations are
  // u8 asymmetric (levels 255).
  // Engine::Observed::every_tensor observes every float value of each run (the C export's
  // calibration); apply() still sets only the ranges the engine takes (Engine::takes_range).
  Calibrator(Engine& engine, const quant::RangeStrategy& strategy,
             Engine::Observed observed = Engine::Observed::calibration_tensors);

  // One run on a batch of calibration inputs (the engine in FP32 mode); returns its outputs.
  // Calls from several threads are taken one at a time.
  std::vector<Tensor> observe(const std::vector<Tensor>& inputs);
  // The range of every observed tensor by the strategy.
  std::map<std::string, std::pair<float, float>> ranges() const;
  // ranges(), set on the engine at once (one re-plan).
  void apply() const;
  int64_t runs() const { return runs_; }
  const Engine& engine() const { return engine_; }

 private:
  Engine& engine_;
  quant::RangeStrategy strategy_;
  Engine::Observed observed_;
  std::map<std::string, quant::RangeObserver> observers_;
  int64_t runs_ = 0;
  mutable std::mutex mutex_;  // the observers
};

}  // namespace edgequant::engine
