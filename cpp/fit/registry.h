// The families the fitter knows, by scipy.stats name. Adding one: write families/<name>.cpp
// (a formula for FormulaFamily), declare its accessor here and list it in registry.cpp; the
// bindings, the Python front and the tests pick it up from all_families().
#pragma once
#include <string>
#include <vector>

#include "fit/family.h"

namespace edgequant::fit {

const Family& norm_family();
const Family& uniform_family();
const Family& cauchy_family();
const Family& expon_family();
const Family& gamma_family();
const Family& laplace_family();
const Family& alpha_family();
const Family& logistic_family();
const Family& t_family();
const Family& gennorm_family();

const std::vector<const Family*>& all_families();

// The family called name; InvalidArgument listing the known names otherwise.
const Family& family_named(const std::string& name);

}  // namespace edgequant::fit
