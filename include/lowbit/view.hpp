#pragma once
/// \file view.hpp
/// Non-owning, row-major matrix views: matrix_view<T> over floats, qmatrix_view<Fmt> over rows of blocks.
/// Both check their shape at construction and throw lowbit::error (see error.hpp) on a shape they cannot hold.
/// Constness comes from the element type, as with Eigen's Map<const M>: matrix_view<const float>.
#include "error.hpp"

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

LOWBIT_NAMESPACE_BEGIN

namespace detail {
template <class M, class = void>
struct is_eigen_dense : std::false_type {};
template <class M>
struct is_eigen_dense<M, std::void_t<decltype(M::IsRowMajor), decltype(std::declval<M&>().data()),
                                     decltype(std::declval<M&>().outerStride()),
                                     decltype(std::declval<M&>().innerStride())>> : std::true_type {};

/// A count or offset for an error message (64-bit: GGUF's are, whatever size_t is).
inline std::string to_string(unsigned long long v) { return std::to_string(v); }
}  // namespace detail

/// A rows x cols float matrix, row r starting at data + r * row_stride (row_stride in elements, >= cols).
template <class T>
class matrix_view {
public:
    using element_type = T;
    using index_type = std::size_t;

    /// Throws if row_stride < cols, or data is null while the view is not empty.
    matrix_view(T* data, index_type rows, index_type cols, index_type row_stride)
        : m_data(data), m_rows(rows), m_cols(cols), m_stride(row_stride) {
        if (row_stride < cols)
            raise("matrix_view: row stride " + detail::to_string(row_stride) + " is smaller than the " +
                  detail::to_string(cols) + " columns");
        if (!data && rows != 0 && cols != 0) raise("matrix_view: data is null for a non-empty matrix");
    }
    /// A dense matrix: row_stride = cols.
    matrix_view(T* data, index_type rows, index_type cols) : matrix_view(data, rows, cols, cols) {}

    /// float -> const float, like Eigen's Map<const M>.
    template <class U, class = std::enable_if_t<std::is_convertible<U (*)[], T (*)[]>::value>>
    matrix_view(matrix_view<U> other) noexcept
        : m_data(other.data()), m_rows(other.rows()), m_cols(other.cols()), m_stride(other.row_stride()) {}

    /// From an Eigen matrix, map or block (anything with data(), rows(), cols(), outerStride(), innerStride()).
    /// Row-major storage is required, except for a single column or a contiguous single row; the check throws
    /// otherwise. Eigen is not included by lowbit: this only uses those members.
    template <class M, class = std::enable_if_t<detail::is_eigen_dense<std::remove_reference_t<M>>::value &&
                                                std::is_convertible<decltype(std::declval<M&>().data()), T*>::value>>
    matrix_view(M&& m) : matrix_view(m.data(), static_cast<index_type>(m.rows()), static_cast<index_type>(m.cols()),
                                     eigen_row_stride(m)) {}

    T* data() const noexcept { return m_data; }
    index_type rows() const noexcept { return m_rows; }
    index_type cols() const noexcept { return m_cols; }
    index_type row_stride() const noexcept { return m_stride; }
    T* row(index_type r) const noexcept { return m_data + r * m_stride; }
    T& operator()(index_type r, index_type c) const noexcept { return m_data[r * m_stride + c]; }
    /// mdspan vocabulary: extent(0) = rows, extent(1) = cols; stride(0) = row_stride, stride(1) = 1.
    index_type extent(int d) const noexcept { return d == 0 ? m_rows : m_cols; }
    index_type stride(int d) const noexcept { return d == 0 ? m_stride : 1; }

private:
    template <class M>
    static index_type eigen_row_stride(const M& m) {
        using E = std::remove_reference_t<M>;
        const auto rows = static_cast<index_type>(m.rows()), cols = static_cast<index_type>(m.cols());
        if (E::IsRowMajor) {
            if (m.innerStride() != 1) raise("matrix_view: Eigen row-major matrix with inner stride != 1");
            return static_cast<index_type>(m.outerStride());
        }
        if (cols == 1) return static_cast<index_type>(m.innerStride());  // one value per row
        if (rows == 1 && m.outerStride() == 1) return cols;
        raise("matrix_view: Eigen matrix of " + detail::to_string(rows) + "x" + detail::to_string(cols) +
              " is column-major; use Eigen::RowMajor storage (or pass its transpose)");
    }

    T* m_data;
    index_type m_rows, m_cols, m_stride;
};

/// Selects the constructors that skip the shape checks, for code that receives a shape checked elsewhere (the
/// runtime dispatcher's kernel side, which must not format error messages under another target's flags).
struct unchecked_t {};

/// Rows of quantized blocks: a rows x cols weight (or activation) matrix in format Fmt, row r starting
/// row_stride_bytes * r bytes after data. Block is Fmt::block or const Fmt::block.
/// Elements cannot be addressed one by one: row(r) gives the blocks of a row.
template <class Fmt, class Block = typename Fmt::block>
class qmatrix_view {
    using byte = std::conditional_t<std::is_const<Block>::value, const unsigned char, unsigned char>;
    using void_type = std::conditional_t<std::is_const<Block>::value, const void, void>;

public:
    using format = Fmt;
    using block_type = Block;
    using index_type = std::size_t;

    /// Bytes of one dense row of `cols` values (cols must be a multiple of the block size).
    static constexpr index_type row_bytes(index_type cols) noexcept { return cols / Fmt::block_size * Fmt::block_bytes; }

    /// Throws if cols is not a multiple of Fmt::block_size, row_stride_bytes < the row's bytes, or data is
    /// null for a non-empty matrix. Blocks have alignment 1: data may be any address.
    qmatrix_view(void_type* data, index_type rows, index_type cols, index_type row_stride_bytes)
        : m_data(static_cast<byte*>(data)), m_rows(rows), m_cols(cols), m_stride(row_stride_bytes) {
        if (cols / Fmt::block_size > static_cast<index_type>(-1) / Fmt::block_bytes)
            raise(std::string("qmatrix_view: a ") + Fmt::name() + " row of " + detail::to_string(cols) +
                  " values does not fit in memory");
        if (cols % Fmt::block_size != 0)
            raise(std::string("qmatrix_view: ") + Fmt::name() + " needs columns in multiples of " +
                  detail::to_string(Fmt::block_size) + ", got " + detail::to_string(cols));
        if (row_stride_bytes < row_bytes(cols))
            raise(std::string("qmatrix_view: row stride of ") + detail::to_string(row_stride_bytes) +
                  " bytes is smaller than one " + Fmt::name() + " row of " + detail::to_string(cols) +
                  " values (" + detail::to_string(row_bytes(cols)) + " bytes)");
        if (!data && rows != 0 && cols != 0) raise("qmatrix_view: data is null for a non-empty matrix");
    }
    qmatrix_view(unchecked_t, void_type* data, index_type rows, index_type cols, index_type row_stride_bytes) noexcept
        : m_data(static_cast<byte*>(data)), m_rows(rows), m_cols(cols), m_stride(row_stride_bytes) {}
    /// Dense rows: row_stride_bytes = row_bytes(cols).
    qmatrix_view(void_type* data, index_type rows, index_type cols) : qmatrix_view(data, rows, cols, row_bytes(cols)) {}

    /// Mutable -> const.
    template <class B, class = std::enable_if_t<std::is_const<Block>::value && std::is_same<const B, Block>::value>>
    qmatrix_view(qmatrix_view<Fmt, B> other) noexcept
        : m_data(other.bytes()), m_rows(other.rows()), m_cols(other.cols()), m_stride(other.row_stride_bytes()) {}

    Block* row(index_type r) const noexcept { return reinterpret_cast<Block*>(m_data + r * m_stride); }
    byte* bytes() const noexcept { return m_data; }
    index_type rows() const noexcept { return m_rows; }
    index_type cols() const noexcept { return m_cols; }
    index_type blocks_per_row() const noexcept { return m_cols / Fmt::block_size; }
    index_type row_stride_bytes() const noexcept { return m_stride; }
    index_type extent(int d) const noexcept { return d == 0 ? m_rows : m_cols; }

private:
    byte* m_data;
    index_type m_rows, m_cols, m_stride;
};

template <class Fmt>
using const_qmatrix_view = qmatrix_view<Fmt, const typename Fmt::block>;

LOWBIT_NAMESPACE_END
