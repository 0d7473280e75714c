#include "fit/registry.h"

#include "common/error.h"

namespace edgequant::fit {

const std::vector<const Family*>& all_families() {
  static const std::vector<const Family*> families = {
      &norm_family(),    &uniform_family(), &cauchy_family(),   &expon_family(), &gamma_family(),
      &laplace_family(), &alpha_family(),   &logistic_family(), &t_family(),     &gennorm_family()};
  return families;
}

const Family& family_named(const std::string& name) {
  std::string known;
  for (const Family* family : all_families()) {
    if (name == family->name()) return *family;
    known += (known.empty() ? "" : ", ") + std::string(family->name());
  }
  throw InvalidArgument("unknown distribution family '" + name + "' (known: " + known + ")");
}

}  // namespace edgequant::fit
