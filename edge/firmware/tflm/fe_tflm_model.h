/* fe_tflm_model.h: one TensorFlow Lite Micro interpreter behind the generated-C model API.
 *
 * `foley-edge build --runtime tflm` (and the TFLM side of `foley-edge bench`) link, for each
 * model, a generated `{prefix}_tflm.cc` (export/tflm/templates/tflm_model.cc.j2) that keeps one
 * fe_tflm::Model in static storage and forwards {prefix}_init / _invoke / _input / _output /
 * _reset_state to it, so the firmware glue (model_generated.c) drives TFLite Micro + CMSIS-NN
 * exactly as it drives our generated C.
 *
 * Model<N> holds raw, suitably aligned storage for the op resolver and the interpreter and
 * constructs them with placement new in Start(): a file-scope Model is zero-initialised .bss
 * and needs no static constructor (the firmware's startup runs none) and no __dso_handle. */
#ifndef FE_TFLM_MODEL_H
#define FE_TFLM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <new>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace fe_tflm {

/* Start() results: 0, or one of these. */
enum {
    kBadSchema = -1,   /* the flatbuffer's schema version is not TFLITE_SCHEMA_VERSION */
    kBadResolver = -2, /* an operator could not be registered */
    kNoArena = -3,     /* AllocateTensors failed (arena too small, or an unsupported op) */
};

template <unsigned int N>
class Model {
  public:
    typedef tflite::MicroMutableOpResolver<N> Resolver;
    typedef TfLiteStatus (*Register)(Resolver &);

    /* (Re)create the interpreter over `flatbuffer` in `arena`; `profiler` may be NULL. */
    int Start(const unsigned char *flatbuffer, Register add_ops, uint8_t *arena, size_t arena_bytes,
              tflite::MicroProfilerInterface *profiler)
    {
        Stop();
        const tflite::Model *model = tflite::GetModel(flatbuffer);
        if (model->version() != TFLITE_SCHEMA_VERSION) {
            return kBadSchema;
        }
        Resolver *resolver = new (resolver_storage_) Resolver();
        if (add_ops(*resolver) != kTfLiteOk) {
            return kBadResolver;
        }
        interpreter_ = new (interpreter_storage_)
            tflite::MicroInterpreter(model, *resolver, arena, arena_bytes, nullptr, profiler);
        if (interpreter_->AllocateTensors() != kTfLiteOk) {
            Stop();
            return kNoArena;
        }
        return 0;
    }

    void Stop()
    {
        if (interpreter_ != nullptr) {
            interpreter_->~MicroInterpreter();
            interpreter_ = nullptr;
        }
    }

    bool Ready() const { return interpreter_ != nullptr; }

    /* 0, or -1 when not started or when an operator fails. */
    int Invoke() { return Ready() && interpreter_->Invoke() == kTfLiteOk ? 0 : -1; }

    size_t Inputs() const { return Ready() ? interpreter_->inputs_size() : 0u; }
    size_t Outputs() const { return Ready() ? interpreter_->outputs_size() : 0u; }

    TfLiteTensor *Input(int i) { return Valid(i, Inputs()) ? interpreter_->input(i) : nullptr; }
    TfLiteTensor *Output(int i) { return Valid(i, Outputs()) ? interpreter_->output(i) : nullptr; }

    size_t ArenaUsedBytes() const { return Ready() ? interpreter_->arena_used_bytes() : 0u; }

  private:
    static bool Valid(int i, size_t n) { return i >= 0 && (size_t)i < n; }

    alignas(Resolver) unsigned char resolver_storage_[sizeof(Resolver)];
    alignas(tflite::MicroInterpreter) unsigned char interpreter_storage_[sizeof(tflite::MicroInterpreter)];
    tflite::MicroInterpreter *interpreter_;
};

/* Byte pointer / size of a tensor (NULL / 0 for NULL). */
inline int8_t *Bytes(TfLiteTensor *t) { return t != nullptr ? t->data.int8 : nullptr; }
inline size_t Size(const TfLiteTensor *t) { return t != nullptr ? t->bytes : 0u; }

}  // namespace fe_tflm

#endif /* FE_TFLM_MODEL_H */
