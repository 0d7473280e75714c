// The backend registry, and the `checked` backend's own checks (the engine tests run every
// registered backend; these make sure the registry and the checks themselves can fail).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "backend/registry.h"
#include "common/error.h"

namespace edgequant::engine {
namespace {

TEST(BackendRegistry, NamesAreUniqueAndTheReferenceIsAlwaysThere) {
  const std::vector<std::string> names = backend_names();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  EXPECT_EQ(default_backend(), names.front());
  EXPECT_NE(std::find(names.begin(), names.end(), "reference"), names.end());
  for (const BackendInfo& info : supported_backends()) {
    EXPECT_FALSE(info.summary.empty()) << info.name;
    EXPECT_EQ(make_backend(info.name)->name(), info.name);
  }
  if (std::find(names.begin(), names.end(), "onednn") != names.end()) EXPECT_EQ(default_backend(), "onednn");
}

TEST(BackendRegistry, UnknownNameListsTheKnownOnes) {
  try {
    make_backend("tpu");
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'tpu'"), std::string::npos) << what;
    EXPECT_NE(what.find("'reference'"), std::string::npos) << what;
  }
}

ConvGeometry small_conv() {
  ConvGeometry g{};
  g.n = 1, g.ic = 2, g.ih = 5, g.iw = 5, g.oc = 3, g.kh = 3, g.kw = 3, g.oh = 3, g.ow = 3;
  g.stride_h = g.stride_w = g.dilation_h = g.dilation_w = g.groups = 1;
  return g;
}

TEST(CheckedBackend, RefusesGeometryThatIsNotTheFormulas) {
  auto checked = make_backend("checked");
  const std::vector<float> w(3 * 2 * 3 * 3, 0.5f), x(2 * 5 * 5, 1.f);
  std::vector<float> y(3 * 3 * 3);
  auto kernel = checked->conv(small_conv(), w.data(), nullptr, {}, {});
  kernel->run(x.data(), y.data());
  EXPECT_FLOAT_EQ(y[0], 9.f);
  ConvGeometry wrong = small_conv();
  wrong.ow = 4;
  EXPECT_THROW(checked->conv(wrong, w.data(), nullptr, {}, {}), InvalidArgument);
  wrong = small_conv();
  wrong.groups = 2;  // 3 output channels do not split in 2 groups
  EXPECT_THROW(checked->conv(wrong, w.data(), nullptr, {}, {}), InvalidArgument);
  EXPECT_THROW(checked->conv(small_conv(), nullptr, nullptr, {}, {}), InvalidArgument);
  EXPECT_THROW(checked->dense(2, 0, 3, w.data(), nullptr, {}, {}), InvalidArgument);
  PoolGeometry pool{PoolGeometry::Kind::max, false, 1, 2, 5, 5, 3, 3, 2, 2, 2, 2, 0, 0, 0, 0};
  EXPECT_NO_THROW(checked->pool(pool));
  pool.oh = 2;  // (5 - 2) / 2 + 1 rounded down (2) or up (ceil_mode: 3); 4 is neither
  EXPECT_NO_THROW(checked->pool(pool));
  pool.oh = 4;
  EXPECT_THROW(checked->pool(pool), InvalidArgument);
}

}  // namespace
}  // namespace edgequant::engine
