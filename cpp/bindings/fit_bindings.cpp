// Bindings of the distribution fitter (cpp/fit/): family PDFs, the weight histogram and the
// fits. The Python package edgequant.fit checks arguments and builds the report.
#include <pybind11/stl.h>

#include <memory>

#include "bindings/buffers.h"
#include "fit/fit_families.h"
#include "fit/registry.h"
#include "fit/weight_histogram.h"

namespace edgequant::bindings {
using namespace edgequant::fit;

namespace {

Criterion criterion_named(const std::string& name) {
  if (name == "sse") return Criterion::sse;
  if (name == "kl") return Criterion::kl;
  throw InvalidArgument("unknown criterion '" + name + "' (known: sse, kl)");
}

py::dict to_dict(const FitResult& result) {
  py::dict out;
  out["family"] = result.family->name();
  out["criterion"] = result.criterion == Criterion::sse ? "sse" : "kl";
  out["params"] = result.params;
  out["sse"] = result.sse;
  out["kl"] = result.kl;
  out["loglik"] = result.log_likelihood;
  out["aic"] = result.aic;
  out["bic"] = result.bic;
  out["evaluations"] = result.evaluations;
  return out;
}

// pdf / logpdf / cdf / sf of one family on a float64 array.
template <class Fill>
py::array_t<double> evaluate(const std::string& name, const Array<double>& x, const Parameters& params, Fill fill) {
  const Family& family = family_named(name);
  family.check(params);
  py::array_t<double> out(x.size());
  const double* src = input_data(x);
  double* dst = out.mutable_data();
  const int64_t n = x.size();
  {
    py::gil_scoped_release release;
    fill(family, params, src, n, dst);
  }
  return out;
}

template <class T>
void add_histogram_builder(py::module_& m) {
  m.def("fit_histogram", [](const Array<T>& src, int64_t bins, bool center, double mass) {
        const T* in = input_data(src);
        const int64_t n = src.size();
        HistogramOptions options{bins, center, mass};
        py::gil_scoped_release release;
        return std::make_shared<WeightHistogram>(build_weight_histogram(in, n, options));
      }, py::arg("src").noconvert(), py::arg("bins"), py::arg("center"), py::arg("mass"));
}

}  // namespace

void register_fit(py::module_& m) {
  m.def("fit_family_names", [] {
    std::vector<std::string> names;
    for (const Family* family : all_families()) names.emplace_back(family->name());
    return names;
  });
  m.def("fit_parameter_names", [](const std::string& name) { return family_named(name).parameter_names(); },
        py::arg("family"));
  m.def("fit_pdf", [](const std::string& name, const Array<double>& x, const Parameters& params) {
        return evaluate(name, x, params, [](const Family& f, const Parameters& p, const double* s, int64_t n, double* d) {
          f.pdf(p, s, n, d);
        });
      }, py::arg("family"), py::arg("x").noconvert(), py::arg("params"));
  m.def("fit_logpdf", [](const std::string& name, const Array<double>& x, const Parameters& params) {
        return evaluate(name, x, params, [](const Family& f, const Parameters& p, const double* s, int64_t n, double* d) {
          f.log_pdf(p, s, n, d);
        });
      }, py::arg("family"), py::arg("x").noconvert(), py::arg("params"));
  m.def("fit_cdf", [](const std::string& name, const Array<double>& x, const Parameters& params, bool survival) {
        return evaluate(name, x, params, [survival](const Family& f, const Parameters& p, const double* s, int64_t n,
                                                    double* d) {
          std::vector<Tails> tails(n);
          f.tails(p, s, n, tails.data());
          for (int64_t i = 0; i < n; ++i) d[i] = survival ? tails[i].sf : tails[i].cdf;
        });
      }, py::arg("family"), py::arg("x").noconvert(), py::arg("params"), py::arg("survival") = false);

  py::class_<WeightHistogram, std::shared_ptr<WeightHistogram>>(m, "FitHistogram")
      .def_property_readonly("edges", [](const WeightHistogram& h) { return py::array_t<double>(h.edges.size(), h.edges.data()); })
      .def_property_readonly("counts", [](const WeightHistogram& h) { return py::array_t<int64_t>(h.counts.size(), h.counts.data()); })
      .def_readonly("below", &WeightHistogram::below)
      .def_readonly("above", &WeightHistogram::above)
      .def_property_readonly("fine_bins", [](const WeightHistogram& h) { return h.fine_counts.size(); })
      .def_property_readonly("summary", [](const WeightHistogram& h) {
        const DataSummary& s = h.summary;
        py::dict out;
        out["count"] = s.count;
        out["non_finite"] = s.non_finite;
        out["mean"] = s.mean;
        out["std"] = s.std;
        out["min"] = s.min;
        out["max"] = s.max;
        out["median"] = s.median;
        out["q25"] = s.q25;
        out["q75"] = s.q75;
        out["mean_abs_deviation"] = s.mean_abs_deviation;
        return out;
      });
  add_histogram_builder<float>(m);
  add_histogram_builder<double>(m);

  m.def("fit_families", [](const WeightHistogram& histogram, const std::vector<std::string>& names,
                           const std::vector<std::string>& criterion_names) {
        std::vector<const Family*> families;
        for (const auto& name : names) families.push_back(&family_named(name));
        std::vector<Criterion> criteria;
        for (const auto& name : criterion_names) criteria.push_back(criterion_named(name));
        std::vector<FitResult> results;
        {
          py::gil_scoped_release release;
          results = fit_families(histogram, families, criteria);
        }
        py::list out;
        for (const auto& result : results) out.append(to_dict(result));
        return out;
      }, py::arg("histogram"), py::arg("families"), py::arg("criteria"));
  m.def("fit_score", [](const WeightHistogram& histogram, const std::string& name, const Parameters& params) {
        const Family& family = family_named(name);
        FitResult result;
        {
          py::gil_scoped_release release;
          result = score_parameters(histogram, family, params);
        }
        return to_dict(result);
      }, py::arg("histogram"), py::arg("family"), py::arg("params"));
}

}  // namespace edgequant::bindings
