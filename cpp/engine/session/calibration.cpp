#include "session/calibration.h"


#include "common/error.h"

namespace edgequant::engine {

Calibrator::Calibrator(Engine& engine, const quant::RangeStrategy& strategy, Engine::Observed observed)
    : engine_(engine), strategy_(strategy), observed_(observed) {
  quant::check_strategy(strategy);
  require(!strategy.symmetric && strategy.levels == 255, "activation ranges are u8 asymmetric (levels 255)");
  const bool histogram = strategy.method != quant::RangeMethod::minmax;
  for (const std::string& name : engine.calibration_tensors()) observers_.emplace(name, quant::RangeObserver(histogram));
}

std::vector<Tensor> Calibrator::observe(const std::vector<Tensor>& inputs) {
  require(engine_.mode() == Mode::f32, "calibration runs in FP32 mode");
  std::lock_guard<std::mutex> lock(mutex_);
  const bool histogram = strategy_.method != quant::RangeMethod::minmax;
  std::vector<Tensor> outputs = engine_.run_observed(
      inputs,
      [&](const std::string& name, const Tensor& values) {
        observers_.try_emplace(name, quant::RangeObserver(histogram)).first->second.observe(values.f(), values.numel());
      },
      observed_);
  ++runs_;
  return outputs;
}

std::map<std::string, std::pair<float, float>> Calibrator::ranges() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::string, std::pair<float, float>> ranges;
  for (const auto& [name, observer] : observers_) {  // (0, 0) for a tensor with no finite value
    const quant::ClipRange range = observer.range(strategy_);
    ranges[name] = {static_cast<float>(range.lo), static_cast<float>(range.hi)};
  }
  return ranges;
}

void Calibrator::apply() const {
  std::map<std::string, std::pair<float, float>> ranges = this->ranges();
  for (auto it = ranges.begin(); it != ranges.end();)  // every_tensor observes values that take none
    it = engine_.takes_range(it->first) ? std::next(it) : ranges.erase(it);
  engine_.set_activation_ranges(ranges);
}

}  // namespace edgequant::engine
